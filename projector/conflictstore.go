package projector

import (
	"context"
	"encoding/json"
	"fmt"

	gojson "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"
)

// The docs set aside for a conflict (conflicts.go), kept in the state too,
// so that any instance tries them again after its batches: the change
// that frees the value may come on another instance's partitions, while
// the one that set the doc aside has no batch for a long time, or stopped.

// conflictRow is a doc set aside for a conflict, with the batches it was
// tried after already.
type conflictRow struct {
	View  string         `json:"view"`
	Doc   string         `json:"doc_id"`
	Key   map[string]any `json:"key"`
	Tries int            `json:"tries"`
}

// maxTakenConflicts bounds the docs one retry takes from the state.
const maxTakenConflicts = 1_000

func (s *state) saveConflicts(ctx context.Context, rows []conflictRow) error {
	if len(rows) == 0 {
		return nil
	}
	input, err := gojson.MarshalWithOption(rows, gojson.UnorderedMap())
	if err != nil {
		return fmt.Errorf("encode conflicts: %w", err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO `+s.ident("conflicts")+` AS c (view, doc_id, key, tries)
		SELECT view, doc_id, key, tries FROM json_to_recordset($1::json) AS x(view text, doc_id text, key json, tries int)
		ON CONFLICT (view, doc_id) DO UPDATE SET key = excluded.key, tries = greatest(c.tries, excluded.tries), updated_at = now()`, input)
	if err != nil {
		return fmt.Errorf("record docs set aside for a conflict: %w", err)
	}
	return nil
}

// takeConflicts removes and returns up to limit docs set aside, skipping
// those another instance is taking.
func (s *state) takeConflicts(ctx context.Context, limit int) ([]conflictRow, error) {
	rows, err := s.pool.Query(ctx, `DELETE FROM `+s.ident("conflicts")+` WHERE (view, doc_id) IN (
			SELECT view, doc_id FROM `+s.ident("conflicts")+` ORDER BY updated_at LIMIT $1 FOR UPDATE SKIP LOCKED)
		RETURNING view, doc_id, key, tries`, limit)
	if err != nil {
		return nil, fmt.Errorf("take docs set aside for a conflict: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (conflictRow, error) {
		var c conflictRow
		var key []byte
		if err := r.Scan(&c.View, &c.Doc, &key, &c.Tries); err != nil {
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
		if old, ok := s.conflicts[k]; ok && old.Tries > r.Tries {
			r.Tries = old.Tries
		}
		s.conflicts[k] = r
	}
	return nil
}

func (s *memState) takeConflicts(_ context.Context, limit int) ([]conflictRow, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []conflictRow
	for k, r := range s.conflicts {
		if len(out) == limit {
			break
		}
		out = append(out, r)
		delete(s.conflicts, k)
	}
	return out, nil
}
