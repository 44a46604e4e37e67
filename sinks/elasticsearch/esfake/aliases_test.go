package esfake

import (
	"net/http"
	"reflect"
	"testing"
)

func aliasTargets(t *testing.T, f *fake, alias string) []string {
	t.Helper()
	status, out := f.do(t, http.MethodGet, "/_alias/"+alias, "")
	if status == http.StatusNotFound {
		return nil
	}
	var got []string
	for ix := range out {
		got = append(got, ix)
	}
	return got
}

func TestAliases(t *testing.T) {
	tests := []struct {
		name    string
		actions string
		status  int
		errType string
		want    []string // indices behind alias "a" afterwards
	}{
		{"add", `[{"add":{"index":"g1","alias":"a"}}]`, 200, "", []string{"g1"}},
		{"swap atomically", `[{"remove":{"index":"g1","alias":"a","must_exist":true}},{"add":{"index":"g2","alias":"a"}}]`, 200, "", []string{"g2"}},
		{"must_exist on the wrong index changes nothing", `[{"remove":{"index":"g2","alias":"a","must_exist":true}},{"add":{"index":"g2","alias":"a"}}]`,
			404, "resource_not_found_exception", []string{"g1"}},
		{"an action on a missing index changes nothing", `[{"remove":{"index":"g1","alias":"a"}},{"add":{"index":"nope","alias":"a"}}]`,
			404, "index_not_found_exception", []string{"g1"}},
		{"alias named like an index", `[{"add":{"index":"g1","alias":"g2"}}]`, 400, "invalid_alias_name_exception", []string{"g1"}},
		{"two write indices", `[{"add":{"index":"g1","alias":"a","is_write_index":true}},{"add":{"index":"g2","alias":"a","is_write_index":true}}]`,
			400, "illegal_argument_exception", []string{"g1"}},
		{"remove only", `[{"remove":{"index":"g1","alias":"a"}}]`, 200, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t)
			f.must(t, http.MethodPut, "/g1", "")
			f.must(t, http.MethodPut, "/g2", "")
			if tt.name != "add" {
				f.must(t, http.MethodPost, "/_aliases", `{"actions":[{"add":{"index":"g1","alias":"a"}}]}`)
			}
			status, out := f.do(t, http.MethodPost, "/_aliases", `{"actions":`+tt.actions+`}`)
			if status != tt.status {
				t.Fatalf("status = %d %v, want %d", status, out, tt.status)
			}
			if tt.errType != "" && out["error"].(map[string]any)["type"] != tt.errType {
				t.Fatalf("error = %v, want %s", out["error"], tt.errType)
			}
			if tt.errType == "" && !reflect.DeepEqual(out, map[string]any{"acknowledged": true, "errors": false}) {
				t.Fatalf("response = %v", out)
			}
			if got := aliasTargets(t, f, "a"); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("alias a -> %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWriteThroughAlias(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/g1", "")
	f.must(t, http.MethodPut, "/g2", "")
	f.must(t, http.MethodPost, "/_aliases", `{"actions":[{"add":{"index":"g1","alias":"a"}}]}`)
	out := f.must(t, http.MethodPost, "/_bulk", `{"index":{"_index":"a","_id":"1"}}`+"\n{}\n")
	if it := item(t, out); it["_index"] != "g1" || it["status"] != 201.0 {
		t.Fatalf("write through alias = %v, want into g1", it)
	}
	f.must(t, http.MethodPost, "/_aliases", `{"actions":[{"add":{"index":"g2","alias":"a"}}]}`)
	out = f.must(t, http.MethodPost, "/_bulk", `{"index":{"_index":"a","_id":"2"}}`+"\n{}\n")
	e := item(t, out)["error"].(map[string]any)
	if e["type"] != "illegal_argument_exception" {
		t.Fatalf("write through a two-index alias = %v, want illegal_argument_exception", e)
	}
	status, got := f.do(t, http.MethodGet, "/a/_doc/1", "")
	if status != 400 {
		t.Fatalf("get through a two-index alias = %d %v, want 400", status, got)
	}
}

func TestRemoveMissingAliasReportsPerAction(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/g1", "")
	out := f.must(t, http.MethodPost, "/_aliases", `{"actions":[{"add":{"index":"g1","alias":"a"}},{"remove":{"index":"g1","alias":"b"}}]}`)
	results, _ := out["action_results"].([]any)
	if out["errors"] != true || len(results) != 2 {
		t.Fatalf("response = %v, want errors with two action_results", out)
	}
	second := results[1].(map[string]any)
	if second["status"] != 404.0 || second["error"].(map[string]any)["type"] != "aliases_not_found_exception" {
		t.Fatalf("remove result = %v", second)
	}
}

func TestFaults(t *testing.T) {
	t.Run("whole request", func(t *testing.T) {
		f := start(t)
		f.FailNext(1, 429, "es_rejected_execution_exception")
		status, out := f.do(t, http.MethodPost, "/_bulk", `{"index":{"_index":"t","_id":"1"}}`+"\n{}\n")
		e := out["error"].(map[string]any)
		if status != 429 || e["type"] != "es_rejected_execution_exception" || out["status"] != 429.0 {
			t.Fatalf("got %d %v", status, out)
		}
		if _, ok := f.do(t, http.MethodGet, "/t/_doc/1", ""); ok != nil && ok["found"] == true {
			t.Fatal("a failed request was applied")
		}
		status, _ = f.do(t, http.MethodPost, "/_bulk", `{"index":{"_index":"t","_id":"1"}}`+"\n{}\n")
		if status != 200 || f.BulkRequests() != 2 {
			t.Fatalf("second request: %d, %d requests", status, f.BulkRequests())
		}
	})
	t.Run("items by id", func(t *testing.T) {
		f := start(t)
		f.FailDocs(1, 503, "unavailable_shards_exception", "2")
		out := f.must(t, http.MethodPost, "/_bulk", `{"index":{"_index":"t","_id":"1"}}`+"\n{}\n"+`{"index":{"_index":"t","_id":"2"}}`+"\n{}\n")
		items := out["items"].([]any)
		first := items[0].(map[string]any)["index"].(map[string]any)
		second := items[1].(map[string]any)["index"].(map[string]any)
		if out["errors"] != true || first["status"] != 201.0 || second["status"] != 503.0 ||
			second["error"].(map[string]any)["type"] != "unavailable_shards_exception" {
			t.Fatalf("items = %v", items)
		}
		out = f.must(t, http.MethodPost, "/_bulk", `{"index":{"_index":"t","_id":"2"}}`+"\n{}\n")
		if item(t, out)["status"] != 201.0 {
			t.Fatalf("retry = %v", out)
		}
	})
	t.Run("down", func(t *testing.T) {
		f := start(t)
		f.Down(true)
		req, _ := http.NewRequest(http.MethodGet, f.URL()+"/", nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			t.Fatalf("request during outage answered %d", res.StatusCode)
		}
		f.Down(false)
		f.must(t, http.MethodGet, "/", "")
	})
}
