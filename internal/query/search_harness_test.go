package query

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// ticketsYAML: one view in PostgreSQL and Elasticsearch with the generated
// mappings (status and note: text with a keyword sub-field, ignore_above
// 256; urgent: boolean).
const ticketsYAML = `
version: 1
kafka: { brokers: "localhost:1", group: tickets }
stores:
  postgres: { url: "${PG}" }
  elasticsearch: { url: "${ES}" }
sources:
  tickets:
    topic: app.public.tickets
    key: id
    columns: { id: bigint, status: text, note: text, score: integer, urgent: boolean }
views:
  tickets:
    from: tickets
    fields: { id: id, status: status, note: note, score: score, urgent: urgent }
    sinks:
      postgres: { table: tickets }
      elasticsearch: { index: tickets }
`

// tickets is a Server over a hand-made PostgreSQL reader table and an
// esfake index with the mappings the sink's template gives the view, both
// holding the same docs.
type tickets struct {
	t   *testing.T
	s   *Server
	es  *esfake.Server
	ctx context.Context
}

// newTickets writes docs to both stores, in that order (Elasticsearch's
// index order, which a sort must not depend on).
func newTickets(t *testing.T, docs ...string) *tickets {
	t.Helper()
	es := esfake.New()
	es.Start()
	t.Cleanup(es.Close)
	pool, pgURL := testenv.Postgres(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE tickets (id bigint PRIMARY KEY, status text, note text, score integer, urgent boolean)`); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ES": es.URL(), "PG": pgURL}
	cfg, err := config.Parse("tickets.yaml", []byte(ticketsYAML), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Kafka.Brokers = nil
	s, err := New(ctx, cfg, plan, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	props, err := esProperties(plan)
	if err != nil {
		t.Fatal(err)
	}
	esDo(t, es.URL(), http.MethodPut, "/tickets", mustJSON(map[string]any{"mappings": map[string]any{"properties": props["tickets"]}}))
	tk := &tickets{t: t, s: s, es: es, ctx: ctx}
	for _, d := range docs {
		tk.put(d)
		if _, err := pool.Exec(ctx, `INSERT INTO tickets SELECT * FROM jsonb_populate_record(NULL::tickets, $1::jsonb)`, d); err != nil {
			t.Fatal(err)
		}
	}
	return tk
}

// put (re)indexes a doc in Elasticsearch, as the sink does on every write.
func (tk *tickets) put(doc string) {
	tk.t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		tk.t.Fatal(err)
	}
	var bulk bytes.Buffer
	bulk.WriteString(`{"index":{"_index":"tickets","_id":"` + string(mustJSON(m["id"])) + `"}}` + "\n" + doc + "\n")
	esDo(tk.t, tk.es.URL(), http.MethodPost, "/_bulk?refresh=true", bulk.Bytes())
}

func (tk *tickets) ids(docs []json.RawMessage) []string {
	out := []string{}
	for _, d := range docs {
		var m map[string]any
		if err := json.Unmarshal(d, &m); err != nil {
			tk.t.Fatal(err)
		}
		out = append(out, string(mustJSON(m["id"])))
	}
	return out
}

func (tk *tickets) search(q string) []string {
	tk.t.Helper()
	p, _ := url.ParseQuery(q)
	res, err := tk.s.Search(tk.ctx, "tickets", p)
	if err != nil {
		tk.t.Fatalf("search %s: %v", q, err)
	}
	return tk.ids(res.Docs)
}

func (tk *tickets) list(q string) []string {
	tk.t.Helper()
	p, _ := url.ParseQuery(q)
	res, err := tk.s.List(tk.ctx, "tickets", p)
	if err != nil {
		tk.t.Fatalf("list %s: %v", q, err)
	}
	return tk.ids(res.Docs)
}

// get answers a request through the HTTP handler: status and JSON body.
func (tk *tickets) get(path string) (int, map[string]any) {
	tk.t.Helper()
	rec := httptest.NewRecorder()
	tk.s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://localhost"+path, nil))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		tk.t.Fatalf("GET %s: %d: not a JSON object: %q", path, rec.Code, rec.Body)
	}
	return rec.Code, body
}
