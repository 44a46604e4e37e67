package projector

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/projections"
)

// A rebuild that reads every row of a source again (--from source, kafka
// or signal) records the columns its state then holds (see the top of
// columns.go). What the re-read went through is not enough to tell: a
// replayed change older than the row the state holds is skipped (a row a
// rebuild --from source wrote is newer than every record of its topic),
// and one whose column carries the TOAST placeholder keeps the stored
// value, which a column the state did not keep lacks. So the rows are
// asked: a column counts as held once every live row was written since
// the re-read began (decoded as its declared type now) and, replayed from
// Kafka, holds it.

// Unfilled is a column of Source that a re-read left Rows live rows
// without (or holding as an earlier declared type).
type Unfilled struct {
	Source, Column string
	Rows           int64
}

// Reread records that every row of sources was read again from the source
// with this configuration: their state holds every column it keeps, as its
// declared type, and a renamed source holds its rows.
func (e *Engine) Reread(ctx context.Context, sources []*projections.Source) error {
	_, err := e.reread(ctx, sources, nil)
	return err
}

// RereadSince records what a re-read of every row of sources that began at
// since (the clock of the state's PostgreSQL) filled: the columns every
// live row holds. replayed says the rows came from Kafka records, where a
// row written without a column lacks it (a TOASTed column, a MongoDB
// update); read from the source, a row without a column is the source's.
// It returns the columns some rows still lack, which stay missing
// (MissingColumns).
func (e *Engine) RereadSince(ctx context.Context, sources []*projections.Source, since time.Time, replayed bool) ([]Unfilled, error) {
	return e.reread(ctx, sources, &rereadCheck{since: since, replayed: replayed})
}

// rereadCheck is what the rows of a re-read are checked against.
type rereadCheck struct {
	since    time.Time
	replayed bool
}

func (e *Engine) reread(ctx context.Context, sources []*projections.Source, check *rereadCheck) ([]Unfilled, error) {
	st, ok := e.state.(*state)
	if !ok {
		return nil, nil
	}
	var out []Unfilled
	for _, src := range sources {
		reads := planReads(e.plan, src)
		var unfilled []Unfilled
		if check != nil {
			var err error
			if unfilled, err = st.unfilled(ctx, src, reads, *check); err != nil {
				return nil, fmt.Errorf("check the state's columns of %s: %w", src.Name, err)
			}
		}
		var lacking []string
		for _, u := range unfilled {
			lacking = append(lacking, u.Column)
		}
		if err := st.recordReread(ctx, e.plan, src, reads, lacking); err != nil {
			return nil, fmt.Errorf("record the state's columns of %s: %w", src.Name, err)
		}
		if len(lacking) > 0 {
			if e.missing == nil {
				e.missing = map[string][]string{}
			}
			e.missing[src.Name] = lacking
		} else {
			delete(e.missing, src.Name)
		}
		out = append(out, unfilled...)
	}
	return out, nil
}

// unfilled counts, for each column src keeps (or, declaring none, its
// views read) that its rows did not all hold before (or held as another
// declared type), the live rows the re-read did not write, or, replayed,
// wrote without it.
func (s *state) unfilled(ctx context.Context, src *projections.Source, reads []string, check rereadCheck) ([]Unfilled, error) {
	rec, _, err := s.record(ctx, s.pool, src.Name, false)
	if err != nil {
		return nil, err
	}
	cols := rec.held().after(src).lacking(src, reads)
	if len(cols) == 0 {
		return nil, nil
	}
	// everyColumn is no key of a row: only the rows not written since count.
	rows, err := s.pool.Query(ctx, `SELECT k, count(*) FROM `+s.table(src)+` s CROSS JOIN unnest($1::text[]) k
		WHERE NOT s.deleted AND (s.updated_at < $2 OR ($3 AND k <> $4 AND NOT s.data ? k))
		GROUP BY k ORDER BY k`, cols, check.since, check.replayed, everyColumn)
	if err != nil {
		return nil, err
	}
	var out []Unfilled
	for rows.Next() {
		u := Unfilled{Source: src.Name}
		if err := rows.Scan(&u.Column, &u.Rows); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// recordReread records that every row of src holds what src keeps (or,
// declaring no columns, the whole row) but the columns lacking, as their
// declared types; that src, renamed or not, holds its rows; and that the
// state of every source plan no longer declares that read its topic is
// out of date (superseded_by): renamed again, src is the source renamed.
func (s *state) recordReread(ctx context.Context, plan *projections.Plan, src *projections.Source, reads, lacking []string) error {
	held := freshHeld(src)
	if src.Columns == nil && len(lacking) > 0 {
		held = heldColumns{complete: reads, types: map[string]string{}}
		for _, col := range reads {
			held.types[col] = ""
		}
	}
	held.complete = slices.DeleteFunc(slices.Clone(held.complete), func(col string) bool {
		return col == everyColumn || slices.Contains(lacking, col)
	})
	types := map[string]string{}
	for _, col := range held.complete {
		types[col] = held.types[col]
	}
	declared := make([]string, len(plan.Sources))
	for i, d := range plan.Sources {
		declared[i] = d.Name
	}
	return retryTx(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE `+s.ident("state_columns")+`
			SET complete = CASE WHEN $4 THEN '{}' ELSE ARRAY(SELECT unnest(complete) UNION SELECT unnest($2::text[]) ORDER BY 1) END,
				types = CASE WHEN $4 THEN '{}' ELSE coalesce(types, '{}') || $3::jsonb END, whole = $4,
				renamed_from = NULL, renamed_among = NULL, superseded_by = NULL, updated_at = now()
			WHERE source = $1`, src.Name, held.complete, types, held.whole)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE `+s.ident("state_columns")+` SET superseded_by = $1
			WHERE topic = $2 AND source <> ALL($3::text[])`, src.Name, src.Topic, declared)
		return err
	})
}
