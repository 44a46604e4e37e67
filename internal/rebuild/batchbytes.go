package rebuild

import (
	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projector"
)

// byBytes cuts records into consecutive batches of at most limit bytes of
// keys and values each, in their order; a record larger than limit is a
// batch of its own.
//
// A replay (--from kafka, --from signal) polls up to 5,000 records at a
// time, and the engine holds several times a batch's bytes while it
// projects it (decoded rows, state, documents, the sinks' encodings): cut
// as the daemons cut their polls (kafka.batch_bytes), a topic of large
// records is replayed in the memory the daemons take for it.
func byBytes(recs []projector.Record, limit int) [][]projector.Record {
	return projector.CutByBytes(recs, func(r projector.Record) int { return len(r.Key) + len(r.Value) }, limit)
}

// pollRecords is the most records a replay polls, and so projects, at
// once: kafka.batch_size, as the daemons' batches, up to 5,000 (the
// batches of a replay are committed by nothing, so larger ones only hold
// more).
func (r *run) pollRecords() int {
	if n := r.env.Config.Kafka.BatchSize; n > 0 {
		return min(n, 5000)
	}
	return 5000
}

// batchBytes is the most bytes of keys and values of one batch.
func (r *run) batchBytes() int {
	if n := r.env.Config.Kafka.BatchBytes; n > 0 {
		return n
	}
	return config.DefaultBatchBytes
}
