package stack

// Hostile review 19e: a store loses a served view's table or index behind
// a running daemon, and the daemon is then restarted (a deploy, a crash,
// an operator "fixing" a stuck instance, another instance of the group
// starting). README (Data lost by a store) says a deleted Elasticsearch
// index and a dropped view table are noticed; a start must not turn that
// loss into a silent one by creating the lost object again, empty, behind
// what readers use, and reporting ready.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// r19eChange is one create of items row id at position pos.
func r19eChange(id, pos int64, name string) []debezium.Change {
	n := json.Number(strconv.FormatInt(id, 10))
	return []debezium.Change{{
		Kind: debezium.KindChange, Op: debezium.OpCreate, Position: debezium.Position{Hi: pos},
		Key: map[string]any{"id": n}, After: map[string]any{"id": n, "name": name},
	}}
}

// r19eNoticed tells whether a restarted stack says, one way or another,
// that component's store lost the view: Wire refusing, the store's probe
// failing, readiness naming it, or a write failing (retried as an outage).
func r19eNoticed(t *testing.T, cfg *config.Config, plan *projections.Plan, component string) (bool, *Stack, string) {
	t.Helper()
	ctx := context.Background()
	st, err := Wire(ctx, cfg, plan, nil)
	if err != nil {
		return true, nil, "start refused: " + err.Error()
	}
	for _, p := range st.probes {
		if slices.Contains(p.components, component) {
			if err := p.ping(ctx); err != nil {
				return true, st, "probe: " + err.Error()
			}
		}
	}
	if p := st.Engine.Problems()[component]; p != "" {
		return true, st, "unready: " + p
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := st.Engine.ProcessChanges(wctx, "items", r19eChange(3, 30, "three")); err != nil {
		return true, st, "write failed: " + err.Error()
	}
	if p := st.Engine.Problems()[component]; p != "" {
		return true, st, "unready: " + p
	}
	return false, st, ""
}

// TestR19eElasticsearchIndexDeletedForgottenAtRestart: the served index
// deleted (its alias with it) under a running daemon. The probe notices
// (TestElasticsearchIndexDeletedNoticed) — until the daemon restarts:
// Setup finds no alias and puts it on items-g1, which the writes since the
// deletion auto-created and which holds only the documents changed since.
// Readers of the alias see a partial view, and readiness is green.
func TestR19eElasticsearchIndexDeletedForgottenAtRestart(t *testing.T) {
	fake := esfake.New()
	fake.Start()
	defer fake.Close()
	cfg, plan := esItemsPlan(t, fake.URL())
	ctx := context.Background()
	st, err := Wire(ctx, cfg, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"one", "two"} {
		if err := st.Engine.ProcessChanges(ctx, "items", r19eChange(int64(i+1), int64(10*(i+1)), name)); err != nil {
			t.Fatal(err)
		}
	}
	do := func(method, path string) string {
		t.Helper()
		req, _ := http.NewRequest(method, fake.URL()+path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
		return string(b)
	}
	do(http.MethodDelete, "/items-g1")
	// A later change: lands in an auto-created items-g1, behind no alias.
	if err := st.Engine.ProcessChanges(ctx, "items", r19eChange(2, 21, "two-v2")); err != nil {
		t.Fatal(err)
	}
	st.Close()

	noticed, st2, how := r19eNoticed(t, cfg, plan, "elasticsearch")
	if st2 != nil {
		defer st2.Close()
	}
	if noticed {
		t.Logf("noticed: %s", how)
		return
	}
	do(http.MethodPost, "/items/_refresh")
	var count struct{ Count int }
	_ = json.Unmarshal([]byte(do(http.MethodGet, "/items/_count")), &count)
	t.Errorf("after the served index was deleted and the daemon restarted, the start put alias items back on a recreated items-g1 "+
		"and reports ready: readers count %d of the 3 documents, document 1 is missing, and nothing says projector rebuild item_view --sinks es is needed", count.Count)
}

// TestR19ePostgresTableDroppedForgottenAtRestart: the served view table
// dropped (CASCADE takes the reader view). Writes fail as an outage
// (TestPostgresTableDroppedRepaired) — until the daemon restarts: Migrate
// creates an empty people__g1 and the reader view over it, writes land,
// readiness is green, and readers see only the documents changed since.
func TestR19ePostgresTableDroppedForgottenAtRestart(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	cfg, err := config.Parse("wire.yaml", []byte(`
version: 1
kafka: { brokers: "127.0.0.1:9" }
stores:
  postgres: { url: "${PG}" }
sources:
  items: { topic: t.public.items, key: id, columns: { id: bigint, name: text } }
views:
  item_view:
    from: items
    fields: { id: id, name: name }
    sinks:
      postgres: { table: r19e_items }
`), func(k string) (string, bool) { return map[string]string{"PG": pgURL}[k], true })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := Wire(ctx, cfg, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"one", "two"} {
		if err := st.Engine.ProcessChanges(ctx, "items", r19eChange(int64(i+1), int64(10*(i+1)), name)); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	if _, err := pool.Exec(ctx, `DROP TABLE r19e_items__g1 CASCADE`); err != nil {
		t.Fatal(err)
	}

	noticed, st2, how := r19eNoticed(t, cfg, plan, "postgres")
	if st2 != nil {
		defer st2.Close()
	}
	if noticed {
		t.Logf("noticed: %s", how)
		return
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM r19e_items`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	var ids []string
	rows, _ := pool.Query(ctx, `SELECT id::text FROM r19e_items ORDER BY id`)
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	t.Errorf("after the served view table was dropped and the daemon restarted, the start created it again, empty, behind the reader view "+
		"and reports ready: readers see %d of the 3 documents (ids %s), and nothing says projector rebuild item_view --sinks postgres is needed", n, strings.Join(ids, ","))
}
