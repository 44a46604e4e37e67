package esfake

import (
	"net/http"
	"strings"
	"testing"
)

// TestR33aBulkUnknownActionParameterRefused: FAILS on the current code.
//
// Elasticsearch 8 parses a bulk action/metadata line strictly: a field it
// does not know (a typo such as "versoin_type", or "_type", which 8.x no
// longer takes) fails the whole request with 400 illegal_argument_exception
// "Action/metadata line [1] contains an unknown parameter [<name>]" and
// nothing in it is applied (server/.../action/bulk/BulkRequestParser.java;
// the "unknown parameter [_type]" 400 that every 7.x shipper met against 8.x).
// esfake reads only the parameters it knows and silently ignores the rest,
// so a sink that sent a misspelt or dropped parameter — losing, say, its
// version guard or routing — would pass every test here and be refused by a
// real cluster. Fix: in parseBulk (esfake/bulk.go) refuse any key of the
// action object outside the ones BulkRequestParser accepts.
func TestR33aBulkUnknownActionParameterRefused(t *testing.T) {
	f := start(t)
	for _, param := range []string{`"_type":"_doc"`, `"versoin_type":"external"`, `"retry_on_conflict_typo":1`} {
		body := `{"index":{"_index":"p","_id":"ok"}}` + "\n" + `{"n":1}` + "\n" +
			`{"index":{"_index":"p","_id":"1",` + param + `}}` + "\n" + `{"n":2}` + "\n"
		status, out := f.do(t, http.MethodPost, "/_bulk?refresh=true", body)
		errObj, _ := out["error"].(map[string]any)
		reason, _ := errObj["reason"].(string)
		if status != http.StatusBadRequest || errObj["type"] != "illegal_argument_exception" ||
			!strings.Contains(reason, "] contains an unknown parameter [") {
			t.Errorf("action with %s: got %d %v; want 400 illegal_argument_exception \"Action/metadata line [3] contains an unknown parameter […]\" (the line counts action and source lines)", param, status, out)
		}
		// Nothing of a refused request is applied.
		if st, _ := f.do(t, http.MethodGet, "/p/_doc/ok", ""); st == http.StatusOK {
			t.Errorf("action with %s: the request's valid item was applied", param)
			f.do(t, http.MethodDelete, "/p", "")
		}
	}
}
