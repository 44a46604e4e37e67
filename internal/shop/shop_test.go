package shop

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/projectorhq/projector/debezium"
)

// TestDeterministic: a seed gives the same stream byte for byte (a failing
// convergence run is replayed by its seed), another seed another stream.
func TestDeterministic(t *testing.T) {
	stream := func(seed uint64) []Message {
		g := New(seed)
		return append(g.Snapshot(20, 10, 50, 3), g.Changes(3000)...)
	}
	a, b, c := stream(42), stream(42), stream(43)
	if len(a) != len(b) {
		t.Fatalf("seed 42 made %d then %d records", len(a), len(b))
	}
	for i := range a {
		if a[i].Topic != b[i].Topic || !bytes.Equal(a[i].Key, b[i].Key) || !bytes.Equal(a[i].Value, b[i].Value) {
			t.Fatalf("seed 42: record %d differs between two runs", i)
		}
	}
	same := len(a) == len(c)
	for i := 0; same && i < len(a); i++ {
		same = bytes.Equal(a[i].Value, c[i].Value)
	}
	if same {
		t.Error("seeds 42 and 43 made the same stream")
	}
}

// TestWorkloadKinds: a workload of the convergence test's size makes every
// kind of change, each many times.
func TestWorkloadKinds(t *testing.T) {
	g := New(7)
	g.Snapshot(200, 80, 1000, 4)
	g.Changes(50_000)
	for _, kind := range []string{
		"user created", "user updated", "user deleted",
		"product created", "product updated", "product deleted", "product deleted while an item references it",
		"product created again with the same id",
		"order placed", "order placed with items in one transaction", "order updated", "order cancelled", "order restored",
		"order moved to another user", "order deleted", "order created again with the same id",
		"item added", "item updated", "item removed", "item moved to another order", "item moved to a cancelled or missing order",
		"item moved to another product",
	} {
		if g.Tally[kind] < 20 {
			t.Errorf("%q: %d times, want at least 20", kind, g.Tally[kind])
		}
	}
}

// TestPositions decodes every record as the engine does and checks what the
// engine relies on: each key's positions never go back (snapshot reads of
// one table share theirs), every delete is followed by its tombstone, and
// the values decode.
func TestPositions(t *testing.T) {
	g := New(3)
	msgs := append(g.Snapshot(50, 20, 200, 3), g.Changes(20_000)...)
	decoders := map[string]*debezium.Decoder{}
	for topic, cols := range map[string]map[string]string{
		TopicProducts:   {"id": "bigint", "name": "text", "price": "numeric(10,2)", "category": "text", "updated_at": "timestamptz"},
		TopicOrders:     {"id": "bigint", "user_id": "text", "status": "text", "total_amount": "numeric(10,2)", "created_at": "timestamp"},
		TopicOrderItems: {"id": "bigint", "order_id": "bigint", "product_id": "bigint", "quantity": "integer", "unit_price": "numeric(10,2)"},
		TopicUsers:      {"_id": "text", "name": "text", "email": "text", "status": "text"},
	} {
		d, err := debezium.NewDecoder(debezium.Options{Format: debezium.FormatAuto, Columns: cols})
		if err != nil {
			t.Fatal(err)
		}
		decoders[topic] = d
	}
	last := map[string]debezium.Position{}
	deleted := map[string]bool{} // a delete waiting for its tombstone
	for i, m := range msgs {
		k := m.Topic + string(m.Key)
		ch, err := decoders[m.Topic].Decode(m.Key, m.Value)
		if err != nil {
			t.Fatalf("record %d (%s): %v", i, m.Topic, err)
		}
		if m.Value == nil {
			if !deleted[k] {
				t.Fatalf("record %d: a tombstone of %s without a delete before it", i, k)
			}
			delete(deleted, k)
			continue
		}
		if deleted[k] {
			t.Fatalf("record %d: %s changes again before the tombstone of its delete", i, k)
		}
		deleted[k] = ch.Op == debezium.OpDelete
		if p, ok := last[k]; ok && ch.Position.Compare(p) <= 0 {
			t.Fatalf("record %d: %s at position %s after %s", i, k, ch.Position, p)
		}
		last[k] = ch.Position
	}
}

func TestIDSet(t *testing.T) {
	s := newIDSet[int64]()
	for i := int64(1); i <= 10; i++ {
		s.add(i)
	}
	s.add(3) // already there
	s.remove(3)
	s.remove(10)
	s.remove(42) // not there
	if s.len() != 8 || s.has(3) || s.has(10) || !s.has(9) {
		t.Fatalf("set %v: want 1…9 without 3", s.list)
	}
	rnd := rand.New(rand.NewPCG(1, 1))
	seen := map[int64]bool{}
	for range 1000 {
		v := s.pick(rnd)
		if !s.has(v) {
			t.Fatalf("picked %d, not a member", v)
		}
		seen[v] = true
	}
	if len(seen) != 8 {
		t.Errorf("1000 picks found %d of 8 members", len(seen))
	}
}
