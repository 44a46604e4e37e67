package projector

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/debezium"
)

// Watermark is how far the views reflect one partition of a source's topic:
// every record before Offset is in every sink, and Position is the newest
// source position among them. Readers use it for read-your-writes.
type Watermark struct {
	Source    string
	Topic     string
	Partition int32
	Offset    int64 // the next offset to project
	Position  debezium.Position
	UpdatedAt time.Time
}

// mark is the watermark one batch advances a partition to.
type mark struct {
	Source    string `json:"source"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	PosHi     int64  `json:"pos_hi"`
	PosLo     int64  `json:"pos_lo"`
}

// marks tracks, per partition, the offset after a batch and the newest
// position of the changes in it.
type marks map[topicPartition]*mark

type topicPartition struct {
	topic     string
	partition int32
}

func (m marks) see(src, topic string, partition int32, offset int64, pos debezium.Position) {
	k := topicPartition{topic, partition}
	w := m[k]
	if w == nil {
		w = &mark{Source: src, Topic: topic, Partition: partition}
		m[k] = w
	}
	w.Offset = max(w.Offset, offset+1)
	if (debezium.Position{Hi: w.PosHi, Lo: w.PosLo}).Compare(pos) < 0 {
		w.PosHi, w.PosLo = pos.Hi, pos.Lo
	}
}

// list is the batch's watermarks, saved once its docs are in every sink.
// A watermark never moves back (a replay after a rebalance starts earlier).
func (m marks) list() []*mark {
	out := make([]*mark, 0, len(m))
	for _, w := range m {
		out = append(out, w)
	}
	return out
}

// ReadWatermarks returns the watermarks of a source's partitions (all
// sources when source is ""), from projector's schema in the query
// PostgreSQL.
func ReadWatermarks(ctx context.Context, pool *pgxpool.Pool, schema, source string) ([]Watermark, error) {
	if schema == "" {
		schema = "projector"
	}
	rows, err := pool.Query(ctx, `SELECT source, topic, partition, "offset", pos_hi, pos_lo, updated_at
		FROM `+pgx.Identifier{schema, "watermarks"}.Sanitize()+`
		WHERE $1 = '' OR source = $1 ORDER BY topic, partition`, source)
	if err != nil {
		return nil, fmt.Errorf("read watermarks: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Watermark, error) {
		var w Watermark
		err := r.Scan(&w.Source, &w.Topic, &w.Partition, &w.Offset, &w.Position.Hi, &w.Position.Lo, &w.UpdatedAt)
		return w, err
	})
}
