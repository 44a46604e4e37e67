package projector

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	gojson "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"
)

// The pending docs (projector.pending_batches, one row per batch or per
// chunk of a fan-out) and the watermarks saved once a batch's docs are
// written: the PostgreSQL side of Batch and Recover.

func (t pgTx) insertPending(ctx context.Context, docs []pendingDoc) ([]pendingDoc, error) {
	input, err := gojson.MarshalWithOption(docs, gojson.UnorderedMap())
	if err != nil {
		return nil, fmt.Errorf("encode pending docs: %w", err)
	}
	var id int64
	if err := t.tx.QueryRow(ctx, `INSERT INTO `+t.s.ident("pending_batches")+` (docs) VALUES ($1::json) RETURNING id`, input).Scan(&id); err != nil {
		return nil, fmt.Errorf("record pending docs: %w", err)
	}
	for i := range docs {
		docs[i].ID = id
	}
	return docs, nil
}

func (s *state) pendingBatchIDs(ctx context.Context) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM `+s.ident("pending_batches")+` ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list pending docs: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("list pending docs: %w", err)
	}
	return ids, nil
}

func (s *state) pending(ctx context.Context, ids []int64) ([]pendingDoc, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, view, doc_id, key FROM `+s.ident("pending")+` WHERE id = ANY($1) ORDER BY id`, ids)
	if err != nil {
		return nil, fmt.Errorf("read pending docs: %w", err)
	}
	docs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pendingDoc, error) {
		var d pendingDoc
		var key []byte
		if err := r.Scan(&d.ID, &d.View, &d.Doc, &key); err != nil {
			return d, err
		}
		var err error
		d.Key, err = decodeRow(key)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("read pending docs: %w", err)
	}
	return docs, nil
}

func (s *state) forgetPending(ctx context.Context, ids []int64) error {
	if _, err := s.pool.Exec(ctx, s.forgetSQL(), ids); err != nil {
		return fmt.Errorf("forget pending docs: %w", err)
	}
	return nil
}

func (s *state) forgetSQL() string {
	return `DELETE FROM ` + s.ident("pending_batches") + ` WHERE id = ANY($1)`
}

// finish sends both statements in one round trip; they run as one
// implicit transaction.
func (s *state) finish(ctx context.Context, ids []int64, list []*mark) error {
	b := &pgx.Batch{}
	if len(ids) > 0 {
		b.Queue(s.forgetSQL(), ids)
	}
	if len(list) > 0 {
		// In one order for every instance: two finishing at once upsert
		// the same topics' rows, and in different orders they deadlock.
		list = slices.Clone(list)
		slices.SortFunc(list, func(a, b *mark) int {
			return cmp.Or(strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
		})
		input, err := json.Marshal(list)
		if err != nil {
			return err
		}
		b.Queue(s.marksSQL(), input)
	}
	if b.Len() == 0 {
		return nil
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("forget pending docs and save watermarks: %w", err)
	}
	return nil
}

// forgetWatermarks deletes the watermarks of topics.
func (s *state) forgetWatermarks(ctx context.Context, topics []string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM `+s.ident("watermarks")+` WHERE topic = ANY($1)`, topics); err != nil {
		return fmt.Errorf("%w: forget watermarks: %w", ErrState, err)
	}
	return nil
}

func (s *state) forgetWatermarksPast(ctx context.Context, ends map[string]map[int32]int64) (int64, error) {
	type end struct {
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
		End       int64  `json:"end"`
	}
	var list []end
	for t, ps := range ends {
		for p, e := range ps {
			list = append(list, end{t, p, e})
		}
	}
	if len(list) == 0 {
		return 0, nil
	}
	input, err := json.Marshal(list)
	if err != nil {
		return 0, err
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM `+s.ident("watermarks")+` w
		USING jsonb_to_recordset($1::jsonb) AS x(topic text, partition int, "end" bigint)
		WHERE w.topic = x.topic AND w.partition = x.partition AND w."offset" > x."end"`, input)
	if err != nil {
		return 0, fmt.Errorf("%w: forget watermarks past their partitions' end: %w", ErrState, err)
	}
	return tag.RowsAffected(), nil
}

func (s *state) marksSQL() string {
	return `INSERT INTO ` + s.ident("watermarks") + ` AS w
		(source, topic, partition, "offset", pos_hi, pos_lo, updated_at)
		SELECT source, topic, partition, "offset", pos_hi, pos_lo, now()
		FROM jsonb_to_recordset($1::jsonb) AS x(source text, topic text, partition int, "offset" bigint, pos_hi bigint, pos_lo bigint)
		ON CONFLICT (topic, partition) DO UPDATE SET
			"offset" = greatest(w."offset", excluded."offset"),
			pos_hi = CASE WHEN (excluded.pos_hi, excluded.pos_lo) > (w.pos_hi, w.pos_lo) THEN excluded.pos_hi ELSE w.pos_hi END,
			pos_lo = CASE WHEN (excluded.pos_hi, excluded.pos_lo) > (w.pos_hi, w.pos_lo) THEN excluded.pos_lo ELSE w.pos_lo END,
			updated_at = now()`
}
