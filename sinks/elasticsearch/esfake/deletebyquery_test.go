package esfake

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// seed creates index t with docs 1..n whose "k" is the given values (as a
// keyword), refreshed so searches see them. Doc i has seq_no i-1.
func seed(t *testing.T, f *fake, ks ...string) {
	t.Helper()
	f.must(t, http.MethodPut, "/t", `{"mappings":{"properties":{"k":{"type":"keyword"}}}}`)
	var b strings.Builder
	for i, k := range ks {
		b.WriteString(`{"index":{"_index":"t","_id":"` + itoa(i+1) + `"}}` + "\n" + `{"k":"` + k + `"}` + "\n")
	}
	f.must(t, http.MethodPost, "/_bulk?refresh=true", b.String())
}

// exists tells whether GET (real time) finds the doc.
func exists(t *testing.T, f *fake, target, id string) bool {
	t.Helper()
	status, _ := f.do(t, http.MethodGet, "/"+target+"/_doc/"+id, "")
	return status == http.StatusOK
}

const deleteAs = `{"query":{"term":{"k":"a"}}}`

func TestDeleteByQueryResponse(t *testing.T) {
	f := start(t)
	seed(t, f, "a", "a", "b")
	status, out := f.do(t, http.MethodPost, "/t/_delete_by_query?refresh=true", deleteAs)
	if _, ok := out["took"].(float64); !ok {
		t.Fatalf("took missing: %v", out)
	}
	delete(out, "took")
	want := jsonOf(t, `{"timed_out":false,"total":2,"deleted":2,"batches":1,"version_conflicts":0,"noops":0,
		"retries":{"bulk":0,"search":0},"throttled_millis":0,"requests_per_second":-1.0,"throttled_until_millis":0,"failures":[]}`)
	if status != http.StatusOK || !reflect.DeepEqual(out, want) {
		t.Fatalf("got %d %v\nwant 200 %v", status, out, want)
	}
	if exists(t, f, "t", "1") || exists(t, f, "t", "2") || !exists(t, f, "t", "3") {
		t.Fatal("want docs 1 and 2 deleted, 3 kept")
	}
	// ?refresh made the deletes visible to search.
	if n := f.must(t, http.MethodPost, "/t/_count", "")["count"]; n != 1.0 {
		t.Fatalf("count after refresh = %v, want 1", n)
	}
	if f.DeleteByQueryRequests() != 1 {
		t.Fatalf("DeleteByQueryRequests = %d, want 1", f.DeleteByQueryRequests())
	}
}

func TestDeleteByQueryNoMatch(t *testing.T) {
	f := start(t)
	seed(t, f, "b")
	out := f.must(t, http.MethodPost, "/t/_delete_by_query", deleteAs)
	if out["total"] != 0.0 || out["deleted"] != 0.0 || out["batches"] != 0.0 {
		t.Fatalf("got %v, want nothing done in no batch", out)
	}
}

func TestDeleteByQuerySeesTheLastRefresh(t *testing.T) {
	f := start(t)
	seed(t, f, "b")
	f.must(t, http.MethodPost, "/_bulk", `{"index":{"_index":"t","_id":"9"}}`+"\n"+`{"k":"a"}`+"\n")
	out := f.must(t, http.MethodPost, "/t/_delete_by_query", deleteAs)
	if out["total"] != 0.0 || !exists(t, f, "t", "9") {
		t.Fatalf("an unrefreshed doc was seen: %v", out)
	}
	f.must(t, http.MethodPost, "/t/_refresh", "")
	out = f.must(t, http.MethodPost, "/t/_delete_by_query", deleteAs)
	if out["deleted"] != 1.0 || exists(t, f, "t", "9") {
		t.Fatalf("after refresh: %v, want doc 9 deleted", out)
	}
}

func TestDeleteByQueryConflicts(t *testing.T) {
	changed := "[1]: version conflict, required seqNo [0], primary term [1]. current document has seqNo [2] and primary term [1]"
	vanished := "[1]: version conflict, required seqNo [0], primary term [1]. but no document was found"
	tests := []struct {
		name, path, body string
		change           string // bulk line(s) applied after the refresh, unrefreshed
		status           int
		reason           string // of the failure; "" for none
		keep             bool   // doc 1 still exists
	}{
		{"proceed skips a changed doc", "/t/_delete_by_query?conflicts=proceed", deleteAs,
			`{"index":{"_index":"t","_id":"1"}}` + "\n" + `{"k":"a"}` + "\n", 200, "", true},
		{"conflicts in the body", "/t/_delete_by_query", `{"conflicts":"proceed","query":{"term":{"k":"a"}}}`,
			`{"index":{"_index":"t","_id":"1"}}` + "\n" + `{"k":"a"}` + "\n", 200, "", true},
		{"abort reports a changed doc", "/t/_delete_by_query", deleteAs,
			`{"index":{"_index":"t","_id":"1"}}` + "\n" + `{"k":"a"}` + "\n", 409, changed, true},
		{"abort reports a doc deleted since", "/t/_delete_by_query?conflicts=abort", deleteAs,
			`{"delete":{"_index":"t","_id":"1"}}` + "\n", 409, vanished, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t)
			seed(t, f, "a", "b")
			f.must(t, http.MethodPost, "/_bulk", tt.change)
			status, out := f.do(t, http.MethodPost, tt.path, tt.body)
			if status != tt.status || out["version_conflicts"] != 1.0 || out["deleted"] != 0.0 {
				t.Fatalf("got %d %v, want %d with one conflict", status, out, tt.status)
			}
			failures := out["failures"].([]any)
			if tt.reason == "" {
				if len(failures) != 0 {
					t.Fatalf("failures = %v, want none", failures)
				}
			} else {
				want := jsonOf(t, `{"index":"t","id":"1","status":409,"cause":{"type":"version_conflict_engine_exception",
					"reason":"`+tt.reason+`","index":"t","index_uuid":"`+uuidOf(t, f, "t")+`","shard":"0"}}`)
				if len(failures) != 1 || !reflect.DeepEqual(failures[0], want) {
					t.Fatalf("failures = %v\nwant [%v]", failures, want)
				}
			}
			if exists(t, f, "t", "1") != tt.keep {
				t.Fatalf("doc 1 exists = %t, want %t", !tt.keep, tt.keep)
			}
		})
	}
}

func uuidOf(t *testing.T, f *fake, index string) string {
	t.Helper()
	out := f.must(t, http.MethodGet, "/"+index, "")
	settings := out[index].(map[string]any)["settings"].(map[string]any)
	return settings["index"].(map[string]any)["uuid"].(string)
}

func TestDeleteByQueryAbortEndsAfterTheBatch(t *testing.T) {
	f := start(t)
	seed(t, f, "a", "a", "a")
	f.must(t, http.MethodPost, "/_bulk", `{"index":{"_index":"t","_id":"1"}}`+"\n"+`{"k":"a"}`+"\n")
	status, out := f.do(t, http.MethodPost, "/t/_delete_by_query?scroll_size=2", deleteAs)
	if status != 409 || out["total"] != 3.0 || out["batches"] != 1.0 || out["deleted"] != 1.0 {
		t.Fatalf("got %d %v, want 409 after one batch of two", status, out)
	}
	if !exists(t, f, "t", "1") || exists(t, f, "t", "2") || !exists(t, f, "t", "3") {
		t.Fatal("want doc 2 deleted with the batch, doc 3 of the next batch kept")
	}
}

func TestDeleteByQueryBatches(t *testing.T) {
	f := start(t)
	seed(t, f, "a", "a", "a")
	out := f.must(t, http.MethodPost, "/t/_delete_by_query?scroll_size=2", deleteAs)
	if out["batches"] != 2.0 || out["deleted"] != 3.0 {
		t.Fatalf("got %v, want 3 deleted in 2 batches", out)
	}
}

// The delete uses internal versioning: the doc's version plus one, kept for
// index.gc_deletes like a bulk delete's.
func TestDeleteByQueryRemembersTheDeleteVersion(t *testing.T) {
	f := start(t)
	idx := func(v int) string {
		return `{"index":{"_index":"t","_id":"1","version":` + itoa(v) + `,"version_type":"external"}}` + "\n" + `{"k":"a"}` + "\n"
	}
	f.must(t, http.MethodPost, "/_bulk?refresh=true", idx(5))
	if out := f.must(t, http.MethodPost, "/t/_delete_by_query", deleteAs); out["deleted"] != 1.0 {
		t.Fatalf("delete by query = %v", out)
	}
	it := item(t, f.must(t, http.MethodPost, "/_bulk", idx(6)))
	if it["status"] != 409.0 || it["error"].(map[string]any)["reason"] != "[1]: version conflict, current version [6] is higher or equal to the one provided [6]" {
		t.Fatalf("write of version 6 within gc_deletes = %v, want a conflict with version 6", it)
	}
	f.now = f.now.Add(61 * time.Second)
	if it := item(t, f.must(t, http.MethodPost, "/_bulk", idx(6))); it["status"] != 201.0 {
		t.Fatalf("write of version 6 after gc_deletes = %v, want created", it)
	}
}

func TestDeleteByQueryThroughFilteredAlias(t *testing.T) {
	f := start(t)
	seed(t, f, "a", "b")
	f.must(t, http.MethodPost, "/_aliases", `{"actions":[{"add":{"index":"t","alias":"only-b","filter":{"term":{"k":"b"}}}}]}`)
	out := f.must(t, http.MethodPost, "/only-b/_delete_by_query", `{"query":{"match_all":{}}}`)
	if out["deleted"] != 1.0 || !exists(t, f, "t", "1") || exists(t, f, "t", "2") {
		t.Fatalf("got %v, want only doc 2 (k=b) deleted", out)
	}
}

func TestDeleteByQueryErrors(t *testing.T) {
	tests := []struct {
		name, path, body string
		status           int
		typ, reason      string
	}{
		{"missing index", "/nope/_delete_by_query", deleteAs, 404, "index_not_found_exception", "no such index [nope]"},
		{"no query", "/t/_delete_by_query", `{}`, 400, "action_request_validation_exception", "Validation Failed: 1: query is missing;"},
		{"bad conflicts", "/t/_delete_by_query?conflicts=maybe", deleteAs, 400, "illegal_argument_exception",
			`conflicts may only be "proceed" or "abort" but was [maybe]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t)
			seed(t, f, "a")
			status, out := f.do(t, http.MethodPost, tt.path, tt.body)
			e, _ := out["error"].(map[string]any)
			if status != tt.status || e["type"] != tt.typ || e["reason"] != tt.reason || out["status"] != float64(tt.status) {
				t.Fatalf("got %d %v, want %d %s %q", status, out, tt.status, tt.typ, tt.reason)
			}
			if !exists(t, f, "t", "1") {
				t.Fatal("a refused request deleted a doc")
			}
		})
	}
}

func TestDeleteByQueryFaults(t *testing.T) {
	t.Run("whole request", func(t *testing.T) {
		f := start(t)
		seed(t, f, "a")
		f.FailNextDeleteByQuery(1, 429, "es_rejected_execution_exception")
		status, out := f.do(t, http.MethodPost, "/t/_delete_by_query", deleteAs)
		if e, _ := out["error"].(map[string]any); status != 429 || e["type"] != "es_rejected_execution_exception" || !exists(t, f, "t", "1") {
			t.Fatalf("got %d %v, want 429 and nothing deleted", status, out)
		}
		if out := f.must(t, http.MethodPost, "/t/_delete_by_query", deleteAs); out["deleted"] != 1.0 || f.DeleteByQueryRequests() != 2 {
			t.Fatalf("second request = %v after %d requests", out, f.DeleteByQueryRequests())
		}
	})
	t.Run("a failed delete", func(t *testing.T) {
		f := start(t)
		seed(t, f, "a", "a")
		f.FailDocs(1, 429, "es_rejected_execution_exception", "1")
		status, out := f.do(t, http.MethodPost, "/t/_delete_by_query?conflicts=proceed", deleteAs)
		failures, _ := out["failures"].([]any)
		if status != 429 || out["deleted"] != 1.0 || len(failures) != 1 {
			t.Fatalf("got %d %v, want 429 with doc 2 deleted and one failure", status, out)
		}
		fl := failures[0].(map[string]any)
		if fl["id"] != "1" || fl["status"] != 429.0 || fl["cause"].(map[string]any)["type"] != "es_rejected_execution_exception" {
			t.Fatalf("failure = %v", fl)
		}
		if !exists(t, f, "t", "1") || exists(t, f, "t", "2") {
			t.Fatal("want doc 1 kept, doc 2 deleted")
		}
	})
}
