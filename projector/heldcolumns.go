package projector

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projections"
)

// heldColumns is what every row of a source's state holds, as
// state_columns records it (see the top of columns.go).
type heldColumns struct {
	// whole: every row holds the whole row its source sent, decoded
	// without declared types (a source declaring no columns).
	whole bool
	// complete lists, when not whole, the columns every row holds, and
	// types the declared type each was decoded as ("" for none). A column
	// recorded without a type (by an earlier version) is taken as
	// unchanged.
	complete []string
	types    map[string]string
}

// everyColumn stands, among the columns a view reads, for all of them: an
// expression reaching $env over a source that declares none.
const everyColumn = "*"

// freshHeld is what an empty state holds once src's configuration writes
// it: every column it keeps, as its declared type, or the whole row.
func freshHeld(src *projections.Source) heldColumns {
	if src.Columns == nil {
		return heldColumns{whole: true}
	}
	return heldColumns{complete: slices.Clone(src.Kept), types: keptTypes(src)}
}

// after is what the rows hold once src's configuration writes them too:
// of what h says every row holds, what src keeps and decodes alike. A
// source that stops declaring its columns keeps whole rows from then on,
// decoded without types: the rows written before hold only what they did,
// and what they held as declared types does not count (decoded
// otherwise) until a re-read.
func (h heldColumns) after(src *projections.Source) heldColumns {
	if src.Columns == nil && h.whole {
		return heldColumns{whole: true}
	}
	now := keptTypes(src)
	cols := src.Kept
	if src.Columns == nil {
		cols = h.complete
	}
	out := heldColumns{types: map[string]string{}}
	for _, col := range cols {
		was, typed, held := h.holds(col)
		if !held || typed && !DecodeAlike(was, now[col]) || !typed && src.Columns == nil {
			continue
		}
		out.complete = append(out.complete, col)
		out.types[col] = now[col]
	}
	return out
}

// typesOrEmpty is types as recorded: none is '{}', not NULL, which would
// be an earlier version's record.
func (h heldColumns) typesOrEmpty() map[string]string {
	if h.types == nil {
		return map[string]string{}
	}
	return h.types
}

// holds says whether every row holds col, and the declared type it was
// decoded as when recorded.
func (h heldColumns) holds(col string) (typ string, typed, held bool) {
	if h.whole {
		return "", true, true
	}
	if !slices.Contains(h.complete, col) {
		return "", false, false
	}
	typ, typed = h.types[col]
	return typ, typed, true
}

// lacking lists the columns of src some rows may lack, or hold as another
// declared type, once its configuration writes them (h is after(src)):
// of those it keeps, or, declaring none, of reads (the columns its views
// read: everyColumn for all of them).
func (h heldColumns) lacking(src *projections.Source, reads []string) []string {
	if h.whole {
		return nil
	}
	cols := src.Kept
	if src.Columns == nil {
		cols = reads
	}
	var out []string
	for _, col := range cols {
		if !slices.Contains(h.complete, col) {
			out = append(out, col)
		}
	}
	return out
}

// intersect is what the rows of both h and o hold alike: what a source
// renamed from one of the two can count on.
func (h heldColumns) intersect(o heldColumns) heldColumns {
	if h.whole && o.whole {
		return heldColumns{whole: true}
	}
	cols := h.complete
	if h.whole {
		cols = o.complete
	}
	out := heldColumns{types: map[string]string{}}
	for _, col := range cols {
		a, typedA, heldA := h.holds(col)
		b, typedB, heldB := o.holds(col)
		if !heldA || !heldB || typedA && typedB && !DecodeAlike(a, b) {
			continue
		}
		out.complete = append(out.complete, col)
		if typedA {
			out.types[col] = a
		} else if typedB {
			out.types[col] = b
		}
	}
	return out
}

// DecodeAlike reports whether a source column declared was and one
// declared now are decoded alike ("" for a column not declared): the rows
// written under either hold the same values, and a column's type changed
// to the other is not retyped (see debezium.DecodeAlike).
func DecodeAlike(was, now string) bool { return debezium.DecodeAlike(was, now) }

// keptTypes is the declared type of each column src keeps, as
// state_columns.types records it.
func keptTypes(src *projections.Source) map[string]string {
	out := make(map[string]string, len(src.Kept))
	for _, col := range src.Kept {
		if t, ok := src.ColumnType(col); ok {
			out[col] = t.String()
		}
	}
	return out
}

// planReads lists the columns of src the views of plan read, for a source
// declaring none (whose Kept is empty): everyColumn when one reads all.
func planReads(plan *projections.Plan, src *projections.Source) []string {
	cols := map[string]bool{}
	for _, v := range plan.Views {
		maps.Copy(cols, viewReads(v)[src])
	}
	return slices.Sorted(maps.Keys(cols))
}

// columnsRecord is a source's row of state_columns, read through to_jsonb
// so that a table an earlier version created without some columns reads
// as recording none.
type columnsRecord struct {
	Complete     []string          `json:"complete"`
	Types        map[string]string `json:"types"`
	Whole        *bool             `json:"whole"`
	RenamedFrom  *string           `json:"renamed_from"`
	RenamedAmong []string          `json:"renamed_among"`
	SupersededBy *string           `json:"superseded_by"`
}

// held is what the record says every row holds. One written before whole
// was recorded says whole rows by recording no column (a source declaring
// none kept no list); whole with columns or types is an earlier version's
// record of a source declaring columns since.
func (r columnsRecord) held() heldColumns {
	empty := len(r.Complete) == 0 && len(r.Types) == 0
	if empty && (r.Whole == nil || *r.Whole) {
		return heldColumns{whole: true}
	}
	return heldColumns{complete: r.Complete, types: r.Types}
}

type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// record reads source's row of state_columns, locked when lock is set;
// found is unset when there is none, or no table yet.
func (s *state) record(ctx context.Context, q rowQuerier, source string, lock bool) (r columnsRecord, found bool, err error) {
	sql := `SELECT to_jsonb(c) FROM ` + s.ident("state_columns") + ` c WHERE source = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	var raw []byte
	err = q.QueryRow(ctx, sql, source).Scan(&raw)
	switch {
	case errors.Is(err, pgx.ErrNoRows) || isUndefinedTable(err):
		return r, false, nil
	case err != nil:
		return r, false, err
	}
	return r, true, json.Unmarshal(raw, &r)
}

// heldAtStart is what the rows of src's state hold once a start with its
// configuration writes them: what the record says, carried over (after);
// every column src keeps when its state is empty (or nothing was recorded,
// by a version before state_columns); and for a source renamed (olds, the
// sources no longer declared whose state holds its rows), while its state
// is empty, what the old source's rows hold, which the statement that
// keeps them gives it: what the state of several holds alike when it
// cannot be told which.
func (s *state) heldAtStart(ctx context.Context, q rowQuerier, src *projections.Source, olds []string, lock bool) (heldColumns, error) {
	own, found, err := s.record(ctx, q, src.Name, lock)
	if err != nil {
		return heldColumns{}, err
	}
	var held bool
	err = q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+s.table(src)+`)`).Scan(&held)
	if err != nil && !isUndefinedTable(err) {
		return heldColumns{}, err
	}
	switch {
	case len(olds) > 0 && !held:
		var h heldColumns
		for i, old := range olds {
			r, found, err := s.record(ctx, q, old, false)
			if err != nil {
				return heldColumns{}, err
			}
			rh := r.held()
			if !found {
				rh = heldColumns{}
			}
			if i == 0 {
				h = rh
			} else {
				h = h.intersect(rh)
			}
		}
		return h.after(src), nil
	case !held || !found:
		return freshHeld(src), nil
	}
	return own.held().after(src), nil
}
