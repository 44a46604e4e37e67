package esfake

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fake is a started server with a controllable clock.
type fake struct {
	*Server
	now time.Time
}

func start(t *testing.T) *fake {
	t.Helper()
	f := &fake{Server: New(), now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	f.SetNow(func() time.Time { return f.now })
	f.Start()
	t.Cleanup(f.Close)
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	return f
}

// do sends a request and decodes the JSON answer (nil for an empty body).
func (f *fake) do(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, f.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	if res.Header.Get("X-Elastic-Product") != "Elasticsearch" {
		t.Errorf("%s %s: X-Elastic-Product header missing", method, path)
	}
	data, _ := io.ReadAll(res.Body)
	var out map[string]any
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, data, err)
		}
	}
	return res.StatusCode, out
}

func (f *fake) must(t *testing.T, method, path, body string) map[string]any {
	t.Helper()
	status, out := f.do(t, method, path, body)
	if status >= 300 {
		t.Fatalf("%s %s: %d %v", method, path, status, out)
	}
	return out
}

func jsonOf(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("bad expected JSON %s: %v", s, err)
	}
	return m
}

func TestInfo(t *testing.T) {
	f := start(t)
	out := f.must(t, http.MethodGet, "/", "")
	v := out["version"].(map[string]any)["number"].(string)
	if !strings.HasPrefix(v, "8.") || out["tagline"] != "You Know, for Search" {
		t.Fatalf("GET / = %v", out)
	}
}

// item returns the result object of the only item of a bulk response.
func item(t *testing.T, out map[string]any) map[string]any {
	t.Helper()
	items := out["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("items = %v", items)
	}
	for _, v := range items[0].(map[string]any) {
		return v.(map[string]any)
	}
	return nil
}

func TestBulkVersioning(t *testing.T) {
	type step struct {
		action  string // the action line; the source line is added for index/create
		advance time.Duration
		status  int
		result  string // for successes
		version float64
		reason  string // for failures: error.reason
	}
	idx := func(v int, typ string) string {
		return `{"index":{"_index":"t","_id":"1","version":` + itoa(v) + `,"version_type":"` + typ + `"}}`
	}
	delx := func(v int, typ string) string {
		return `{"delete":{"_index":"t","_id":"1","version":` + itoa(v) + `,"version_type":"` + typ + `"}}`
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"external_gte", []step{
			{action: idx(5, "external_gte"), status: 201, result: "created", version: 5},
			{action: idx(3, "external_gte"), status: 409, reason: "[1]: version conflict, current version [5] is higher than the one provided [3]"},
			{action: idx(5, "external_gte"), status: 200, result: "updated", version: 5},
			{action: idx(6, "external_gte"), status: 200, result: "updated", version: 6},
		}},
		{"external", []step{
			{action: idx(5, "external"), status: 201, result: "created", version: 5},
			{action: idx(5, "external"), status: 409, reason: "[1]: version conflict, current version [5] is higher or equal to the one provided [5]"},
			{action: idx(6, "external"), status: 200, result: "updated", version: 6},
		}},
		{"internal", []step{
			{action: `{"index":{"_index":"t","_id":"1"}}`, status: 201, result: "created", version: 1},
			{action: `{"index":{"_index":"t","_id":"1"}}`, status: 200, result: "updated", version: 2},
			{action: `{"create":{"_index":"t","_id":"1"}}`, status: 409, reason: "[1]: version conflict, document already exists (current version [2])"},
			{action: `{"delete":{"_index":"t","_id":"1"}}`, status: 200, result: "deleted", version: 3},
			{action: `{"delete":{"_index":"t","_id":"1"}}`, status: 404, result: "not_found", version: 4},
		}},
		{"delete tombstone guards for gc_deletes", []step{
			{action: idx(5, "external"), status: 201, result: "created", version: 5},
			{action: delx(7, "external"), status: 200, result: "deleted", version: 7},
			{action: idx(6, "external"), advance: 59 * time.Second, status: 409, reason: "[1]: version conflict, current version [7] is higher or equal to the one provided [6]"},
			{action: idx(6, "external"), advance: 2 * time.Second, status: 201, result: "created", version: 6},
		}},
		{"delete external_gte at the stored version remembers that version", []step{
			{action: idx(5, "external"), status: 201, result: "created", version: 5},
			{action: delx(4, "external_gte"), status: 409, reason: "[1]: version conflict, current version [5] is higher than the one provided [4]"},
			{action: delx(5, "external_gte"), status: 200, result: "deleted", version: 5},
			{action: idx(5, "external"), status: 409, reason: "[1]: version conflict, current version [5] is higher or equal to the one provided [5]"},
			{action: idx(6, "external"), status: 201, result: "created", version: 6},
			{action: delx(5, "external_gte"), status: 409, reason: "[1]: version conflict, current version [6] is higher than the one provided [5]"},
		}},
		{"delete of a missing doc leaves a tombstone", []step{
			{action: delx(4, "external"), status: 404, result: "not_found", version: 4},
			{action: idx(3, "external"), status: 409, reason: "[1]: version conflict, current version [4] is higher or equal to the one provided [3]"},
			{action: idx(5, "external"), status: 201, result: "created", version: 5},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t)
			for n, s := range tt.steps {
				f.now = f.now.Add(s.advance)
				body := s.action + "\n"
				if !strings.Contains(s.action, `"delete"`) {
					body += `{"title":"x"}` + "\n"
				}
				out := f.must(t, http.MethodPost, "/_bulk", body)
				it := item(t, out)
				if int(it["status"].(float64)) != s.status {
					t.Fatalf("step %d: item %v, want status %d", n, it, s.status)
				}
				if s.reason != "" {
					e := it["error"].(map[string]any)
					if out["errors"] != true || e["type"] != "version_conflict_engine_exception" || e["reason"] != s.reason || e["index"] != "t" {
						t.Fatalf("step %d: error %v, want version_conflict_engine_exception %q", n, e, s.reason)
					}
					continue
				}
				if it["result"] != s.result || it["_version"] != s.version || it["_index"] != "t" || it["_id"] != "1" {
					t.Fatalf("step %d: item %v, want %s v%v", n, it, s.result, s.version)
				}
			}
		})
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestBulkRequestValidation(t *testing.T) {
	tests := []struct {
		name, body, reason string
	}{
		{"internal version", `{"index":{"_index":"t","_id":"1","version":3}}` + "\n{}\n",
			"Validation Failed: 1: internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead;"},
		{"create with external version", `{"create":{"_index":"t","_id":"1","version":3,"version_type":"external"}}` + "\n{}\n",
			"Validation Failed: 1: create operations only support internal versioning. use index instead;"},
		{"negative version", `{"index":{"_index":"t","_id":"1","version":-1,"version_type":"external"}}` + "\n{}\n",
			"Validation Failed: 1: illegal version value [-1] for version type [EXTERNAL];"},
		{"no index", `{"index":{"_id":"1"}}` + "\n{}\n", "Validation Failed: 1: index is missing;"},
		{"empty", "", "Validation Failed: 1: no requests added;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t)
			status, out := f.do(t, http.MethodPost, "/_bulk", tt.body)
			e, _ := out["error"].(map[string]any)
			if status != 400 || e["type"] != "action_request_validation_exception" || e["reason"] != tt.reason {
				t.Fatalf("got %d %v, want 400 %q", status, out, tt.reason)
			}
		})
	}
}

func TestErrorBodies(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		createT                  bool
		status                   int
		want                     string
	}{
		{"index not found", http.MethodGet, "/missing/_doc/1", "", false, 404,
			`{"error":{"root_cause":[{"type":"index_not_found_exception","reason":"no such index [missing]","resource.type":"index_or_alias","resource.id":"missing","index_uuid":"_na_","index":"missing"}],"type":"index_not_found_exception","reason":"no such index [missing]","resource.type":"index_or_alias","resource.id":"missing","index_uuid":"_na_","index":"missing"},"status":404}`},
		{"doc not found", http.MethodGet, "/t/_doc/nope", "", true, 404,
			`{"_index":"t","_id":"nope","found":false}`},
		{"alias missing", http.MethodGet, "/_alias/nope", "", false, 404, `{"error":"alias [nope] missing","status":404}`},
		{"template missing", http.MethodGet, "/_index_template/nope", "", false, 404,
			`{"error":{"root_cause":[{"type":"resource_not_found_exception","reason":"index template matching [nope] not found"}],"type":"resource_not_found_exception","reason":"index template matching [nope] not found"},"status":404}`},
		{"invalid index name", http.MethodPut, "/Upper", "", false, 400,
			`{"error":{"root_cause":[{"type":"invalid_index_name_exception","reason":"Invalid index name [Upper], must be lowercase","index_uuid":"_na_","index":"Upper"}],"type":"invalid_index_name_exception","reason":"Invalid index name [Upper], must be lowercase","index_uuid":"_na_","index":"Upper"},"status":400}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t)
			if tt.createT {
				f.must(t, http.MethodPut, "/t", "")
			}
			status, out := f.do(t, tt.method, tt.path, tt.body)
			if status != tt.status || !reflect.DeepEqual(out, jsonOf(t, tt.want)) {
				t.Fatalf("got %d %v\nwant %d %s", status, out, tt.status, tt.want)
			}
		})
	}
}

func TestCreateIndexTwice(t *testing.T) {
	f := start(t)
	out := f.must(t, http.MethodPut, "/t", "")
	if !reflect.DeepEqual(out, jsonOf(t, `{"acknowledged":true,"shards_acknowledged":true,"index":"t"}`)) {
		t.Fatalf("create = %v", out)
	}
	status, out := f.do(t, http.MethodPut, "/t", "")
	e := out["error"].(map[string]any)
	if status != 400 || e["type"] != "resource_already_exists_exception" || !strings.HasPrefix(e["reason"].(string), "index [t/") {
		t.Fatalf("second create = %d %v", status, out)
	}
}
