package stack

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/definition"
	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// staleDeployment is a PostgreSQL database (and an Elasticsearch fake)
// that files are started on, as `projector run` starts them.
type staleDeployment struct {
	t     *testing.T
	pool  *pgxpool.Pool
	pgURL string
	esURL string
}

func newStaleDeployment(t *testing.T) *staleDeployment {
	pool, pgURL := testenv.Postgres(t)
	fake := esfake.New()
	fake.Start()
	t.Cleanup(fake.Close)
	return &staleDeployment{t: t, pool: pool, pgURL: pgURL, esURL: fake.URL()}
}

// staleItem is item_view: items in PostgreSQL and Elasticsearch.
const staleItem = `  item_view:
    from: items
    fields: { id: id, name: name }
    sinks:
      postgres: { table: item_view }
      elasticsearch: { index: items }
`

// staleOther is other_view: items in PostgreSQL.
const staleOther = `  other_view:
    from: items
    fields: { id: id, name: name }
    sinks:
      postgres: { table: other_view }
`

// file is a configuration of the items source with views, Elasticsearch
// configured when es.
func (d *staleDeployment) file(es bool, views ...string) (*config.Config, *projections.Plan) {
	d.t.Helper()
	stores := `  postgres: { url: "${PG}" }` + "\n"
	if es {
		stores += `  elasticsearch: { url: "${ES}" }` + "\n"
	}
	yaml := "version: 1\nkafka: { brokers: \"127.0.0.1:9\" }\nstores:\n" + stores +
		"sources:\n  items: { topic: t.public.items, key: id, columns: { id: bigint, name: text } }\nviews:\n" + strings.Join(views, "")
	cfg, err := config.Parse("stale.yaml", []byte(yaml), func(k string) (string, bool) {
		return map[string]string{"PG": d.pgURL, "ES": d.esURL}[k], true
	})
	if err != nil {
		d.t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		d.t.Fatal(err)
	}
	return cfg, plan
}

// start starts cfg, applies the changes of items given (a nil name
// deletes the row), stops, and returns the start's warnings.
func (d *staleDeployment) start(cfg *config.Config, plan *projections.Plan, items map[int64]*string) string {
	d.t.Helper()
	var logs testenv.Logs
	ctx := context.Background()
	st, err := Wire(ctx, cfg, plan, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		d.t.Fatal(err)
	}
	defer st.Close()
	pos := d.nextPosition()
	for id, name := range items {
		pos++
		n := json.Number(strconv.FormatInt(id, 10))
		c := debezium.Change{Kind: debezium.KindChange, Op: debezium.OpCreate, Position: debezium.Position{Hi: pos}, Key: map[string]any{"id": n}}
		if name == nil {
			c.Op = debezium.OpDelete
		} else {
			c.After = map[string]any{"id": n, "name": *name}
		}
		if err := st.Engine.ProcessChanges(ctx, "items", []debezium.Change{c}); err != nil {
			d.t.Fatal(err)
		}
	}
	return logs.String()
}

// nextPosition is after every position the state holds.
func (d *staleDeployment) nextPosition() int64 {
	var pos int64
	err := d.pool.QueryRow(context.Background(), `SELECT coalesce(max(pos_hi), 0) FROM projector.state_items`).Scan(&pos)
	if err != nil && !strings.Contains(err.Error(), "does not exist") {
		d.t.Fatal(err)
	}
	return pos + 1000
}

// change is what CompareDefinitions says of view for cfg, as validate
// reads it.
func (d *staleDeployment) change(cfg *config.Config, plan *projections.Plan, view string) definition.Change {
	d.t.Helper()
	drift, err := CompareDefinitions(context.Background(), registry.New(d.pool, "projector"), cfg, plan)
	if err != nil {
		d.t.Fatal(err)
	}
	for _, c := range drift.Changes {
		if c.View == view {
			return c
		}
	}
	return definition.Change{View: view}
}

// swap records view's definition in cfg as a rebuild's swap does.
func (d *staleDeployment) swap(cfg *config.Config, plan *projections.Plan, view string) {
	d.t.Helper()
	ctx := context.Background()
	reg := registry.New(d.pool, "projector")
	cur := definition.Of(cfg, plan.View(view))
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		return reg.RecordDefinitionTx(ctx, tx, registry.Definition{View: view, JSON: cur.JSON(), Fingerprint: cur.Fingerprint(), Generation: 2})
	})
	if err != nil {
		d.t.Fatal(err)
	}
}

func name(s string) *string { return &s }

// TestViewPutBackNeedsRebuild: a view taken out of the file while its rows
// change, then put back as it was, holds the documents of before (one of
// a deleted row, an old name). Its definition equals the recorded one, yet
// every start and validate say it needs a rebuild, a start with the file
// without it (a rolling deploy's other instance) does not take that back,
// and a rebuild's swap does.
func TestViewPutBackNeedsRebuild(t *testing.T) {
	d := newStaleDeployment(t)
	withOther, withOtherPlan := d.file(true, staleItem, staleOther)
	without, withoutPlan := d.file(true, staleItem)
	d.start(withOther, withOtherPlan, map[int64]*string{1: name("one"), 2: name("two")})

	if logs := d.start(without, withoutPlan, map[int64]*string{1: nil, 2: name("renamed")}); !strings.Contains(logs, "views no longer declared") {
		t.Fatalf("taken out: want the frozen warning:\n%s", logs)
	}
	want := "view other_view put back after a start without it: its documents missed every change of their rows meanwhile, until `projector rebuild other_view`"
	for i := range 2 {
		if logs := d.start(withOther, withOtherPlan, nil); !strings.Contains(logs, want) {
			t.Errorf("start %d with it put back: want %q:\n%s", i+1, want, logs)
		}
		if c := d.change(withOther, withOtherPlan, "other_view"); !c.NeedsRebuild() || c.Within([]string{definition.StorePostgres}) {
			t.Errorf("validate: want a change of every store needing a rebuild, got %+v", c.Findings)
		}
		d.start(without, withoutPlan, nil) // an instance still on the other file
	}
	if c := d.change(withOther, withOtherPlan, "item_view"); len(c.Findings) > 0 {
		t.Errorf("item_view, declared throughout, changed: %+v", c.Findings)
	}

	d.swap(withOther, withOtherPlan, "other_view")
	if logs := d.start(withOther, withOtherPlan, nil); logs != "" {
		t.Errorf("after a rebuild's swap, the start warned:\n%s", logs)
	}
}

// TestSinkPutBackNeedsRebuild: a store left without a URL for a start (or
// a sink taken out) is not written while the rows change; back, it needs
// a rebuild of that store, though the definition is the recorded one.
func TestSinkPutBackNeedsRebuild(t *testing.T) {
	d := newStaleDeployment(t)
	withES, withESPlan := d.file(true, staleItem)
	withoutES, withoutESPlan := d.file(false, staleItem)
	d.start(withES, withESPlan, map[int64]*string{1: name("one")})

	logs := d.start(withoutES, withoutESPlan, map[int64]*string{1: name("renamed")})
	if !strings.Contains(logs, "elasticsearch sink removed (index items keeps the documents it had)") || strings.Contains(logs, "put back") {
		t.Errorf("Elasticsearch not configured: want the sink removed note only:\n%s", logs)
	}
	logs = d.start(withES, withESPlan, nil)
	want := "view item_view elasticsearch sink put back after a start that did not write it: elasticsearch index items missed every change meanwhile, until `projector rebuild item_view`"
	if !strings.Contains(logs, want) {
		t.Errorf("want %q:\n%s", want, logs)
	}
	if c := d.change(withES, withESPlan, "item_view"); !c.NeedsRebuild() || !c.Within([]string{definition.StoreElasticsearch}) {
		t.Errorf("validate: want a change of Elasticsearch needing a rebuild, got %+v", c.Findings)
	}
}

// TestViewAddedOverRowsSaysSo: a view added over a state holding rows has
// no document for any of them until they change: validate notes it before
// the first start, and every start warns of it until a rebuild. One added
// over a state of deleted rows only has nothing to miss.
func TestViewAddedOverRowsSaysSo(t *testing.T) {
	d := newStaleDeployment(t)
	first, firstPlan := d.file(true, staleItem)
	added, addedPlan := d.file(true, staleItem, staleOther)
	d.start(first, firstPlan, map[int64]*string{1: name("one"), 2: name("two")})

	want := "added over rows already in the state of source items: it has documents only for rows changed since its first start, until `projector rebuild other_view`"
	if c := d.change(added, addedPlan, "other_view"); c.NeedsRebuild() || !slices.Contains(c.Texts(false), want) {
		t.Errorf("validate before the first start: want the note %q, got %+v", want, c.Findings)
	}
	for i := range 2 {
		if logs := d.start(added, addedPlan, nil); !strings.Contains(logs, "view other_view "+want) {
			t.Errorf("start %d: want %q:\n%s", i+1, want, logs)
		}
	}
	d.swap(added, addedPlan, "other_view")
	if logs := d.start(added, addedPlan, nil); logs != "" {
		t.Errorf("after a rebuild's swap, the start warned:\n%s", logs)
	}

	d.start(first, firstPlan, map[int64]*string{1: nil, 2: nil})
	third, thirdPlan := d.file(true, staleItem, strings.ReplaceAll(staleOther, "other_view", "third_view"))
	if logs := d.start(third, thirdPlan, nil); strings.Contains(logs, "third_view") {
		t.Errorf("a view added over deleted rows only warned:\n%s", logs)
	}
}
