package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/definition"
	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// A recorded definition says what a view's documents follow; it does not
// say whether they follow their rows. Some stop doing so while the
// definition stays the same: a start whose file does not write them (the
// view taken out, its sink taken out or its store left without a URL)
// leaves them frozen while the rows change, and a view first deployed over
// rows already in the state has no document for those until they change.
// Put back as it was, the view's definition equals the recorded one again,
// and nothing would tell. So a start records, beside the definition (the
// key "stale" of its JSON, which definition.Parse ignores), what it left
// stale; every start and `projector validate` tell it until a rebuild's
// swap records the definition afresh, without it.
//
// Starts only add to it and only a swap clears it: two instances of a
// rolling deploy on different files cannot take back each other's record,
// so the warnings do not come and go with whichever started last. The
// instance on the earlier file warns at its next start that the view or
// sink the new file removed needs a rebuild; so it does, as the instances
// on the new file did not write those documents meanwhile.

// staleness is what starts recorded of a view's documents missing changes
// or rows.
type staleness struct {
	// Undeclared: a start's file did not declare the view.
	Undeclared bool `json:"undeclared,omitempty"`
	// Sinks are the stores a start did not write the view to, its sink
	// taken out or its store not configured.
	Sinks []string `json:"sinks,omitempty"`
	// OverRows is the source whose state held rows when the view was
	// first deployed.
	OverRows string `json:"over_rows,omitempty"`
}

func (s staleness) empty() bool {
	return !s.Undeclared && len(s.Sinks) == 0 && s.OverRows == ""
}

// adds is what s records that rec does not: what a start records.
func (s staleness) adds(rec staleness) staleness {
	var add staleness
	add.Undeclared = s.Undeclared && !rec.Undeclared
	for _, store := range s.Sinks {
		if !slices.Contains(rec.Sinks, store) {
			add.Sinks = append(add.Sinks, store)
		}
	}
	if rec.OverRows == "" {
		add.OverRows = s.OverRows
	}
	return add
}

// merge is rec with add.
func (s staleness) merge(add staleness) staleness {
	s.Undeclared = s.Undeclared || add.Undeclared
	s.Sinks = append(slices.Clone(s.Sinks), add.adds(s).Sinks...)
	if s.OverRows == "" {
		s.OverRows = add.OverRows
	}
	return s
}

// staleOf reads what starts recorded beside a definition; nothing from a
// JSON that does not decode (definition.Parse says so).
func staleOf(js []byte) staleness {
	var rec struct {
		Stale staleness `json:"stale"`
	}
	_ = json.Unmarshal(js, &rec)
	return rec.Stale
}

// withStale is the recorded JSON js with s beside the definition.
func withStale(js []byte, s staleness) ([]byte, error) {
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(js, &rec); err != nil {
		return nil, fmt.Errorf("definition: decode: %w", err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	rec["stale"] = b
	return json.Marshal(rec)
}

// staleFindings tells what the staleness recorded beside a view's
// definition means for cur, its definition in the file: a view or a sink
// put back needs a rebuild, as its documents missed the changes made
// while it was out; a view deployed over rows lacks their documents
// (existing ones follow it, as when fields are only added).
func staleFindings(view string, s staleness, cur definition.Definition) []definition.Finding {
	var out []definition.Finding
	if s.Undeclared {
		out = append(out, definition.Finding{Rebuild: true,
			Text: "put back after a start without it: its documents missed every change of their rows meanwhile"})
	}
	for _, store := range s.Sinks {
		if target := sinkTarget(cur.Sinks, store); target != "" && !s.Undeclared {
			out = append(out, definition.Finding{Store: store, Rebuild: true,
				Text: fmt.Sprintf("%s sink put back after a start that did not write it: %s missed every change meanwhile", store, target)})
		}
	}
	if s.OverRows != "" && !s.Undeclared { // the rebuild that one needs computes every document
		out = append(out, definition.Finding{
			Text: fmt.Sprintf("added over rows already in the state of source %s: it has documents only for rows changed since its first start, until `projector rebuild %s`", s.OverRows, view)})
	}
	return out
}

// StaleFindings are the findings of what starts recorded beside rec, the
// recorded definition of a view, for cur, its definition in the file. A
// rebuild's swap that records cur clears them: one of only some stores
// (--sinks) should record it only when these too concern those stores.
func StaleFindings(rec registry.Definition, cur definition.Definition) []definition.Finding {
	return staleFindings(rec.View, staleOf(rec.JSON), cur)
}

// stores are the stores sinks write to, as the registry names them.
func stores(sinks definition.Sinks) []string {
	var out []string
	for _, store := range []string{definition.StorePostgres, definition.StoreRedis, definition.StoreElasticsearch} {
		if sinkTarget(sinks, store) != "" {
			out = append(out, store)
		}
	}
	return out
}

// sinkTarget is where sinks keep the documents in store ("" without such
// a sink).
func sinkTarget(sinks definition.Sinks, store string) string {
	switch {
	case store == definition.StorePostgres && sinks.Postgres != nil:
		return "postgres table " + sinks.Postgres.Schema + "." + sinks.Postgres.Table
	case store == definition.StoreRedis && sinks.Redis != nil:
		return "redis keys " + sinks.Redis.Key
	case store == definition.StoreElasticsearch && sinks.Elasticsearch != nil:
		return "elasticsearch index " + sinks.Elasticsearch.Index
	}
	return ""
}

// recordStale adds add to what the registry records beside view's
// definition, under the lock of its row: a rebuild's swap recording a new
// definition meanwhile is marked too, as this start does not write what
// add names any more than it did the old one's.
func recordStale(ctx context.Context, reg *registry.Registry, view string, add staleness) error {
	return pgx.BeginFunc(ctx, reg.Pool(), func(tx pgx.Tx) error {
		rec, ok, err := reg.DefinitionTx(ctx, tx, view)
		if err != nil || !ok {
			return err
		}
		was := staleOf(rec.JSON)
		if add.adds(was).empty() {
			return nil
		}
		if rec.JSON, err = withStale(rec.JSON, was.merge(add)); err != nil {
			return fmt.Errorf("view %s: recorded %w", view, err)
		}
		return reg.RecordDefinitionTx(ctx, tx, rec)
	})
}
