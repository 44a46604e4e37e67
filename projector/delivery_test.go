package projector_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/projectorhq/projector/internal/shop"
)

// delivery is the order in which a workload's records reach Kafka, as a
// real pipeline would write them: each topic's records in their source
// order, but the topics interleaved at random, in bursts, so one topic runs
// far ahead of another (connectors and their tasks are independent); and
// duplicates, re-produced later: a window of a topic's recent records again
// (a connector restarting from an older offset) or a single older record.
// Each key's records stay in order within their partition, since a key
// always goes to the same partition and every copy comes after its original.
type delivery struct {
	Records    []shop.Message
	Duplicates int
}

func deliver(rnd *rand.Rand, msgs []shop.Message) delivery {
	var topics []string
	queues := map[string][]shop.Message{}
	for _, m := range msgs {
		if _, ok := queues[m.Topic]; !ok {
			topics = append(topics, m.Topic)
		}
		queues[m.Topic] = append(queues[m.Topic], m)
	}
	sent := map[string][]shop.Message{}
	var d delivery
	d.Records = make([]shop.Message, 0, len(msgs)+len(msgs)/8)
	for len(topics) > 0 {
		i := rnd.IntN(len(topics))
		topic := topics[i]
		q := queues[topic]
		done := sent[topic]
		switch r := rnd.IntN(100); {
		case r < 8 && len(done) > 0:
			// A connector restart: it resends everything after the offset it
			// last stored, here up to a few hundred records.
			n := 1 + rnd.IntN(min(len(done), 300))
			d.Records = append(d.Records, done[len(done)-n:]...)
			d.Duplicates += n
			continue
		case r < 18 && len(done) > 0:
			// Single older records again, from anywhere in the topic.
			for n := 1 + rnd.IntN(20); n > 0; n-- {
				d.Records = append(d.Records, done[rnd.IntN(len(done))])
				d.Duplicates++
			}
			continue
		}
		// Bursts of very different lengths: mostly a few records, now and
		// then a long run of one topic while the others wait.
		burst := 1 + rnd.IntN([]int{1, 1, 1, 1, 10, 10, 10, 100, 100, 1000}[rnd.IntN(10)])
		burst = min(burst, len(q))
		d.Records = append(d.Records, q[:burst]...)
		sent[topic] = append(done, q[:burst]...)
		queues[topic] = q[burst:]
		if len(queues[topic]) == 0 {
			topics = append(topics[:i], topics[i+1:]...)
		}
	}
	return d
}

// TestDeliver checks the delivery keeps what Kafka keeps: every record is
// delivered, each key's records in their source order (copies aside), and
// the topics are really interleaved and duplicated.
func TestDeliver(t *testing.T) {
	gen := shop.New(1)
	msgs := append(gen.Snapshot(20, 10, 50, 3), gen.Changes(5000)...)
	d := deliver(rand.New(rand.NewPCG(1, 2)), msgs)
	if d.Duplicates == 0 || len(d.Records) != len(msgs)+d.Duplicates {
		t.Fatalf("%d records with %d duplicates from %d", len(d.Records), d.Duplicates, len(msgs))
	}
	// The originals, in delivery order, with copies dropped: a copy is a
	// record whose content was delivered before (records are unique: each
	// carries its own position; tombstones repeat but are identical).
	seen := map[string]bool{}
	perKey := map[string][]shop.Message{}
	switches := 0
	for i, r := range d.Records {
		if i > 0 && r.Topic != d.Records[i-1].Topic {
			switches++
		}
		id := r.Topic + string(r.Key) + string(r.Value)
		if seen[id] && r.Value != nil {
			continue
		}
		seen[id] = true
		k := r.Topic + string(r.Key)
		perKey[k] = append(perKey[k], r)
	}
	want := map[string][]shop.Message{}
	for _, m := range msgs {
		k := m.Topic + string(m.Key)
		want[k] = append(want[k], m)
	}
	for k, w := range want {
		g := perKey[k]
		var gv, wv [][]byte
		for _, m := range g {
			if m.Value != nil {
				gv = append(gv, m.Value)
			}
		}
		for _, m := range w {
			if m.Value != nil {
				wv = append(wv, m.Value)
			}
		}
		if len(gv) != len(wv) {
			t.Fatalf("key %s: %d records delivered, want %d", k, len(gv), len(wv))
		}
		for i := range wv {
			if !bytes.Equal(gv[i], wv[i]) {
				t.Fatalf("key %s: record %d out of order", k, i)
			}
		}
	}
	if switches < len(msgs)/500 {
		t.Errorf("only %d switches between topics: not interleaved", switches)
	}
}
