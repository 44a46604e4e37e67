package stack

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/definition"
	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/sinks/elasticsearch"
	"github.com/projectorhq/projector/sinks/postgres"
)

// A view's table or index deleted behind projector's back is noticed while
// it runs (its writes fail; its alias is on no index). A start must not
// make that loss silent by creating the object again, empty, behind what
// readers use: for a view the registry records as deployed to that store
// under that name, the start leaves it to a rebuild (README, Data lost by
// a store).

// recordedSinks are the sinks of view's recorded definition; nil when none
// is recorded (a first deployment) or it cannot be read.
func recordedSinks(recorded map[string]registry.Definition, view string) *definition.Sinks {
	rec, ok := recorded[view]
	if !ok {
		return nil
	}
	d, err := definition.Parse(rec.JSON)
	if err != nil {
		return nil
	}
	return &d.Sinks
}

// markLostTables marks the PostgreSQL views whose served table was
// deployed and is gone (postgres.View.Lost).
func markLostTables(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, views []postgres.View, recorded map[string]registry.Definition) error {
	for i := range views {
		v := &views[i]
		if !DeployedTable(recorded, *v) {
			continue // never deployed under this name: created now
		}
		_, table := v.Tables()
		var exists bool
		if err := q.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table.Sanitize()).Scan(&exists); err != nil {
			return fmt.Errorf("postgres sink: view %q: look for table %s: %w", v.Name, table.Sanitize(), err)
		}
		v.Lost = !exists
	}
	return nil
}

// DeployedTable reports whether the registry records v as deployed to
// PostgreSQL under its schema and table: one of its served tables missing
// was lost, not never made.
func DeployedTable(recorded map[string]registry.Definition, v postgres.View) bool {
	sinks := recordedSinks(recorded, v.Name)
	return sinks != nil && sinks.Postgres != nil && sinks.Postgres.Table == v.Table && sameSchema(sinks.Postgres.Schema, v.Schema)
}

func sameSchema(a, b string) bool {
	if a == "" {
		a = "public"
	}
	if b == "" {
		b = "public"
	}
	return a == b
}

// postgresSinkProbe pings PostgreSQL and looks for every view's reader
// view: one missing went with its table (DROP … CASCADE), or alone.
func postgresSinkProbe(pool *pgxpool.Pool, views []postgres.View) probe {
	readers := make([]string, len(views))
	names := map[string]string{}
	for i, v := range views {
		r, _ := v.Tables()
		readers[i] = r.Sanitize()
		names[readers[i]] = v.Name
	}
	return probe{components: []string{registry.StorePostgres}, ping: func(ctx context.Context) error {
		if err := pingPool(ctx, pool); err != nil {
			return err
		}
		rows, err := pool.Query(ctx, `SELECT r FROM unnest($1::text[]) AS r WHERE to_regclass(r) IS NULL`, readers)
		if err != nil {
			return err
		}
		missing, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(missing) == 0 {
			return err
		}
		var what []string
		for _, r := range missing {
			what = append(what, fmt.Sprintf("view %s (%s)", names[r], r))
		}
		return fmt.Errorf("the reader view of %s is gone (was its table dropped?): its documents need projector rebuild VIEW --sinks postgres (a restart restores a reader view dropped alone)",
			strings.Join(what, ", "))
	}}
}

// markLostAliases tells the sink of the views whose alias the registry
// records as deployed and seen on its index (Definition.Aliased), and which
// is on no index: its index was deleted (the alias goes with it). Setup
// then puts no alias on the index it creates; a rebuild does
// (elasticsearch.Sink.AliasLost). It returns the other views, whose alias
// Setup puts on their index (or finds there). An Elasticsearch that does
// not answer is an error: until it answers, no alias can be told lost, and
// none may be put (see setUpFirst).
func markLostAliases(ctx context.Context, sink *elasticsearch.Sink, views []elasticsearch.View, recorded map[string]registry.Definition) (aliased []string, err error) {
	for _, v := range views {
		alias := cmp.Or(v.Alias, v.Name)
		rec, ok := recorded[v.Name]
		sinks := recordedSinks(recorded, v.Name)
		if ok && rec.Aliased && sinks != nil && sinks.Elasticsearch != nil && cmp.Or(sinks.Elasticsearch.Index, v.Name) == alias {
			on, err := sink.AliasIndices(ctx, alias)
			if err != nil {
				return nil, fmt.Errorf("view %s: look for its alias: %w", v.Name, err)
			}
			if len(on) == 0 {
				sink.AliasLost(v.Name)
				continue
			}
		}
		aliased = append(aliased, v.Name)
	}
	return aliased, nil
}
