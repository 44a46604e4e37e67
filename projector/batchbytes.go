package projector

import "github.com/twmb/franz-go/pkg/kgo"

// byBytes cuts a poll's records into consecutive batches of at most limit
// bytes of keys and values each; a record larger than limit is a batch of
// its own. The batches keep the poll's order, and so every partition's.
//
// A poll is bounded by a count (kafka.batch_size) and by what the client
// buffers, 50 MB a fetch and more with several brokers, while projecting a
// batch holds several times its bytes in memory: decoded rows, state,
// documents, the sinks' encodings. Cut by bytes as well, a batch's memory
// is bounded by what its records weigh, not only by how many there are.
func byBytes(recs []*kgo.Record, limit int) [][]*kgo.Record {
	return CutByBytes(recs, func(r *kgo.Record) int { return len(r.Key) + len(r.Value) }, limit)
}

// CutByBytes cuts recs into consecutive batches of at most limit bytes
// each, as weight weighs a record, in their order; a record heavier than
// limit is a batch of its own. The daemons' polls and a rebuild's replays
// are cut so (kafka.batch_bytes).
func CutByBytes[R any](recs []R, weight func(R) int, limit int) [][]R {
	var batches [][]R
	start, size := 0, 0
	for i, r := range recs {
		n := weight(r)
		if i > start && size+n > limit {
			batches = append(batches, recs[start:i:i])
			start, size = i, 0
		}
		size += n
	}
	if start < len(recs) {
		batches = append(batches, recs[start:])
	}
	return batches
}
