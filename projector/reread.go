package projector

import (
	"context"
	"errors"
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
		var unfilled []Unfilled
		if check != nil {
			var err error
			if unfilled, err = st.unfilled(ctx, src, *check); err != nil {
				return nil, fmt.Errorf("check the state's columns of %s: %w", src.Name, err)
			}
		}
		var lacking []string
		for _, u := range unfilled {
			lacking = append(lacking, u.Column)
		}
		held := slices.DeleteFunc(slices.Clone(src.Kept), func(col string) bool { return slices.Contains(lacking, col) })
		if err := st.recordReread(ctx, src, held); err != nil {
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

// unfilled counts, for each column src keeps that its rows did not all
// hold before (or held as another declared type), the live rows the
// re-read did not write, or, replayed, wrote without it.
func (s *state) unfilled(ctx context.Context, src *projections.Source, check rereadCheck) ([]Unfilled, error) {
	if len(src.Kept) == 0 {
		return nil, nil // whole rows: every column the source has
	}
	var complete []string
	var types map[string]string
	err := s.pool.QueryRow(ctx, `SELECT complete, types FROM `+s.ident("state_columns")+` WHERE source = $1`, src.Name).Scan(&complete, &types)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	now := keptTypes(src)
	var cols []string
	for _, col := range src.Kept {
		if was, typed := types[col]; !slices.Contains(complete, col) || typed && was != now[col] {
			cols = append(cols, col)
		}
	}
	if len(cols) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT k, count(*) FROM `+s.table(src)+` s CROSS JOIN unnest($1::text[]) k
		WHERE NOT s.deleted AND (s.updated_at < $2 OR ($3 AND NOT s.data ? k))
		GROUP BY k ORDER BY k`, cols, check.since, check.replayed)
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

// recordReread records that every row of src holds the columns held, as
// their declared types, and that src, renamed or not, holds its rows.
func (s *state) recordReread(ctx context.Context, src *projections.Source, held []string) error {
	types := map[string]string{}
	now := keptTypes(src)
	for _, col := range held {
		if t, ok := now[col]; ok {
			types[col] = t
		}
	}
	_, err := s.pool.Exec(ctx, `UPDATE `+s.ident("state_columns")+`
		SET complete = ARRAY(SELECT unnest(complete) UNION SELECT unnest($2::text[]) ORDER BY 1),
			types = coalesce(types, '{}') || $3::jsonb, renamed_from = NULL, updated_at = now()
		WHERE source = $1`, src.Name, held, types)
	return err
}
