package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// r12eRealAliasErrors serves esfake, except that an _aliases request the
// fake refuses because a "remove" with "must_exist": true found no alias
// is answered as Elasticsearch 8 answers it: AliasAction.Remove.apply
// throws ResourceNotFoundException("required alias [<alias>] does not
// exist"), 404 resource_not_found_exception (see
// esfake.TestR12eRemoveMustExistIsResourceNotFound).
type r12eRealAliasErrors struct{ fake *esfake.Server }

func (h r12eRealAliasErrors) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/_aliases" {
		h.fake.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	h.fake.ServeHTTP(rec, r)
	var out struct {
		Error struct {
			Type string `json:"type"`
		} `json:"error"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	var req struct {
		Actions []map[string]struct {
			Alias     string `json:"alias"`
			MustExist bool   `json:"must_exist"`
		} `json:"actions"`
	}
	_ = json.Unmarshal(body, &req)
	if rec.Code == http.StatusNotFound && out.Error.Type == "aliases_not_found_exception" {
		for _, a := range req.Actions {
			if rm, ok := a["remove"]; ok && rm.MustExist {
				reason := "required alias [" + rm.Alias + "] does not exist"
				w.Header().Set("X-Elastic-Product", "Elasticsearch")
				w.Header().Set("Content-Type", "application/json; charset=UTF-8")
				w.WriteHeader(http.StatusNotFound)
				_, _ = io.WriteString(w, `{"error":{"root_cause":[{"type":"resource_not_found_exception","reason":"`+reason+
					`"}],"type":"resource_not_found_exception","reason":"`+reason+`"},"status":404}`)
				return
			}
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// TestR12eSwapAliasMismatchOnRealErrorBody: SwapAlias promises
// ErrAliasMismatch, changing nothing, when the alias is not on generation
// from. It recognises that case by the error type esfake answers
// (aliases_not_found_exception); Elasticsearch 8 answers a remove with
// must_exist of a missing alias with 404 resource_not_found_exception
// "required alias [...] does not exist" (AliasAction.Remove.apply), so
// against a real cluster the mismatch comes back as a plain APIError.
// TestElasticsearchGenerations checks this only against the fake.
func TestR12eSwapAliasMismatchOnRealErrorBody(t *testing.T) {
	fake := esfake.New()
	srv := httptest.NewServer(r12eRealAliasErrors{fake: fake})
	t.Cleanup(srv.Close)
	b := &backend{name: "esfake+real alias errors", cfg: Config{URL: srv.URL, MaxBackoff: time.Millisecond}, fake: fake, prefix: "t-"}
	b.client = testClient(t, b.cfg)
	fields := []Field{{"id", "bigint"}, {"title", "text"}}
	ctx := context.Background()

	b.newSink(t, nil, View{Name: "items", Fields: fields})
	g2 := b.newSink(t, nil, View{Name: "items", Fields: fields, Generation: 2})
	if err := g2.SwapAlias(ctx, "items", 1, 2); err != nil {
		t.Fatalf("SwapAlias 1->2: %v", err)
	}
	// The alias is on generation 2 now: a swap from 1 must say so.
	err := g2.SwapAlias(ctx, "items", 1, 2)
	if !errors.Is(err, ErrAliasMismatch) {
		t.Fatalf("SwapAlias from a generation the alias is not on = %v, want ErrAliasMismatch", err)
	}
	assertAlias(t, b, "t-items", "t-items-g2")
}

// TestR12eNewKeepsPasswordOutOfSchemelessURL: New moves credentials out of
// the URL "so no error or log line that prints the address can show them",
// and TestNewKeepsURLPasswordOutOfErrors checks a URL with a wrong scheme.
// A URL written without its scheme ("elastic:pw@host:9200", as one writes
// for many clients) parses with scheme "elastic" and the password in
// url.URL.Opaque, not in User: nothing is moved, redact clears no User, and
// the "must be http(s)://host:port" error prints the password.
func TestR12eNewKeepsPasswordOutOfSchemelessURL(t *testing.T) {
	const password = "hunter2"
	_, err := New(Config{URL: "elastic:" + password + "@localhost:9200"}, []View{{Name: "v"}})
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("New error = %v, want ErrConfig", err)
	}
	if strings.Contains(err.Error(), password) {
		t.Fatalf("New error %q shows the password", err)
	}
}
