package projector

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"
)

// The docs set aside for a conflict (conflicts.go), kept in the state too,
// so that any instance tries them again after its batches: the change
// that frees the value may come on another instance's partitions, while
// the one that set the doc aside has no batch for a long time, or stopped.
//
// Taking them does not delete them: a retry holds them (updated_at pushed
// conflictHold on, which keeps other instances from taking them too) and
// forgets each only once it is written. An instance that stops while
// writing them lets go of them (retryConflicts), or, when it dies, its
// hold lapses: the next batch of any instance takes them then.

// conflictRow is a doc set aside for a conflict, with the batches it was
// tried after already. A row a retry took from the state has Taken, the
// end of its hold; Done says the retry wrote it, or gave up on it: it is
// forgotten, unless set aside again since it was taken.
type conflictRow struct {
	View  string         `json:"view"`
	Doc   string         `json:"doc_id"`
	Key   map[string]any `json:"key"`
	Tries int            `json:"tries"`
	Taken time.Time      `json:"taken"`
	Done  bool           `json:"done"`
}

// maxTakenConflicts bounds the docs one retry takes from the state.
const maxTakenConflicts = 1_000

// conflictHold is how long a retry holds the docs it took: how late
// another instance takes them up when the one writing them died. A retry
// that writes longer (a store's outage) only has them written twice.
const conflictHold = time.Minute

// saveConflicts records rows: those done are forgotten, if still held as
// they were taken; the others are kept with their tries, free for any
// instance to take.
func (s *state) saveConflicts(ctx context.Context, rows []conflictRow) error {
	if len(rows) == 0 {
		return nil
	}
	input, err := gojson.MarshalWithOption(rows, gojson.UnorderedMap())
	if err != nil {
		return fmt.Errorf("encode conflicts: %w", err)
	}
	_, err = s.pool.Exec(ctx, `WITH x AS (
			SELECT * FROM json_to_recordset($1::json) AS x(view text, doc_id text, key json, tries int, taken timestamptz, done bool)
		), forgotten AS (
			DELETE FROM `+s.ident("conflicts")+` AS c USING x
			WHERE x.done AND (c.view, c.doc_id) = (x.view, x.doc_id) AND c.updated_at = x.taken
		)
		INSERT INTO `+s.ident("conflicts")+` AS c (view, doc_id, key, tries)
		SELECT view, doc_id, key, tries FROM x WHERE NOT x.done
		ON CONFLICT (view, doc_id) DO UPDATE SET key = excluded.key, tries = greatest(c.tries, excluded.tries), updated_at = now()`, input)
	if err != nil {
		return fmt.Errorf("record docs set aside for a conflict: %w", err)
	}
	return nil
}

// takeConflicts returns up to limit docs set aside of views, oldest
// first, and holds them for conflictHold, skipping those another instance
// holds. Those of other views are not touched: they wait for an instance
// that declares their view (see undeclared.go), whose takes they do not
// hold up meanwhile.
func (s *state) takeConflicts(ctx context.Context, views []string, limit int) ([]conflictRow, error) {
	rows, err := s.pool.Query(ctx, `UPDATE `+s.ident("conflicts")+` AS c SET updated_at = now() + make_interval(secs => $2)
		FROM (SELECT view, doc_id FROM `+s.ident("conflicts")+` WHERE updated_at <= now() AND view = ANY($3)
			ORDER BY updated_at LIMIT $1 FOR UPDATE SKIP LOCKED) AS t
		WHERE (c.view, c.doc_id) = (t.view, t.doc_id)
		RETURNING c.view, c.doc_id, c.key, c.tries, c.updated_at`, limit, conflictHold.Seconds(), views)
	if err != nil {
		return nil, fmt.Errorf("take docs set aside for a conflict: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (conflictRow, error) {
		var c conflictRow
		var key []byte
		if err := r.Scan(&c.View, &c.Doc, &key, &c.Tries, &c.Taken); err != nil {
			return c, err
		}
		return c, json.Unmarshal(key, &c.Key)
	})
	if err != nil {
		return nil, fmt.Errorf("take docs set aside for a conflict: %w", err)
	}
	return out, nil
}

func (s *memState) saveConflicts(_ context.Context, rows []conflictRow) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conflicts == nil {
		s.conflicts = map[conflictKey]conflictRow{}
	}
	for _, r := range rows {
		k := conflictKey{r.View, r.Doc}
		old, ok := s.conflicts[k]
		if r.Done {
			if ok && old.Taken.Equal(r.Taken) {
				delete(s.conflicts, k)
			}
			continue
		}
		if ok && old.Tries > r.Tries {
			r.Tries = old.Tries
		}
		r.Taken = time.Time{}
		s.conflicts[k] = r
	}
	return nil
}

func (s *memState) takeConflicts(_ context.Context, views []string, limit int) ([]conflictRow, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	var out []conflictRow
	for k, r := range s.conflicts {
		if len(out) == limit {
			break
		}
		if r.Taken.After(now) || !slices.Contains(views, r.View) {
			continue // held by a retry, or of a view this instance does not declare
		}
		r.Taken = now.Add(conflictHold)
		s.conflicts[k] = r
		out = append(out, r)
	}
	return out, nil
}
