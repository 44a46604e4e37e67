package redis

import (
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestRevKeySameSlot: a doc key and its rev key must share a slot, or a
// cluster refuses the script with CROSSSLOT.
func TestRevKeySameSlot(t *testing.T) {
	s, err := New(redis.NewClient(&redis.Options{}), nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"order:1", "user:{42}:stats", "{x}", "a{}b", "a{b", "x:{{y}}", "ü:🚀", ""} {
		if a, b := slot(key), slot(s.revKey(key)); a != b {
			t.Errorf("%q is in slot %d, its rev key %q in %d", key, a, s.revKey(key), b)
		}
		if a, b := slot(key), slot(s.membershipKey(key)); a != b {
			t.Errorf("%q is in slot %d, its membership key %q in %d", key, a, s.membershipKey(key), b)
		}
	}
}

func TestChunks(t *testing.T) {
	ops := make([]*op, 0, 700)
	for i := range 700 {
		key := fmt.Sprintf("order:%d", i%300) // some keys several times
		head := header{op: "json"}
		if i%5 == 0 {
			head = header{op: "del", revTTL: 1000}
		}
		ops = append(ops, &op{index: i, keys: []string{key, "rev:{" + key + "}"}, head: head, args: []any{"1"}})
	}
	tests := []struct {
		name       string
		client     redis.UniversalClient
		sameSlot   bool
		maxPerCall int
	}{
		{"single server", redis.NewClient(&redis.Options{}), false, chunkDocs},
		{"cluster", redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}}), true, chunkDocs},
		{"ring", redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}}), true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer tt.client.Close()
			s, err := New(tt.client, nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[int]int{}
			for _, c := range s.chunks(ops) {
				if len(c.ops) == 0 || len(c.ops) > tt.maxPerCall || len(c.keys) != 2*len(c.ops) || len(c.args) != 4+len(c.ops) {
					t.Fatalf("chunk of %d docs, %d keys and %d args, want 1..%d docs, two keys each, a 4-arg header and one arg each",
						len(c.ops), len(c.keys), len(c.args), tt.maxPerCall)
				}
				for _, o := range c.ops {
					if tt.sameSlot && slot(o.keys[0]) != slot(c.ops[0].keys[0]) {
						t.Fatalf("chunk mixes slots %d and %d", slot(c.ops[0].keys[0]), slot(o.keys[0]))
					}
					if o.head != c.ops[0].head || c.args[0] != o.head.op {
						t.Fatalf("chunk mixes headers %v and %v", c.ops[0].head, o.head)
					}
					seen[o.index]++
				}
			}
			for _, o := range ops {
				if seen[o.index] != 1 {
					t.Fatalf("doc %d is in %d chunks, want 1", o.index, seen[o.index])
				}
			}
		})
	}
}
