package redis

import (
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// TestOldIndexKeyWrongTypePartialWrite: a key of another type among the
// index keys a doc leaves fails its write before anything is written: the
// doc, its rev and its memberships stay as they were, and a retry starts
// from the same place. Checked only after the doc key was overwritten, the
// ZREM's WRONGTYPE would leave the new version under the old rev, half
// moved between indexes.
func TestOldIndexKeyWrongTypePartialWrite(t *testing.T) {
	client, prefix := testenv.Redis(t)
	s := newIndexSink(t, client, prefix, FormatJSON)
	write(t, s, order(1, 1, "42", "2024-01-01T00:00:00Z", "1"))
	before := client.Get(t.Context(), prefix+"order:1").Val()
	// The old index key now holds another type (an operator, another tool).
	client.Del(t.Context(), prefix+"user:42:orders")
	if err := client.Set(t.Context(), prefix+"user:42:orders", "a string", 0).Err(); err != nil {
		t.Fatal(err)
	}
	err := s.Write(t.Context(), []sinks.Doc{order(1, 2, "43", "2024-01-01T00:00:00Z", "2")})
	var be *sinks.BatchError
	if !errors.As(err, &be) || be.Failed[0] == nil {
		t.Fatalf("Write: %v, want doc 0 failed", err)
	}
	rev := client.Get(t.Context(), s.revKey(prefix+"order:1")).Val()
	after := client.Get(t.Context(), prefix+"order:1").Val()
	if after != before {
		t.Errorf("failed write changed the doc: %s -> %s (rev key still %q): doc and rev disagree", before, after, rev)
	}
	if n := client.Exists(t.Context(), prefix+"user:43:orders").Val(); n != 0 {
		t.Errorf("failed write already put the doc into its new index user:43:orders")
	}
}

// TestMembershipKeyWrongTypePartialWrite: the same with the doc's
// membership key holding another type (SMEMBERS would fail after SET and
// ZADD).
func TestMembershipKeyWrongTypePartialWrite(t *testing.T) {
	client, prefix := testenv.Redis(t)
	s := newIndexSink(t, client, prefix, FormatJSON)
	write(t, s, order(1, 1, "42", "2024-01-01T00:00:00Z", "1"))
	before := client.Get(t.Context(), prefix+"order:1").Val()
	mk := s.membershipKey(prefix + "order:1")
	client.Del(t.Context(), mk)
	if err := client.Set(t.Context(), mk, "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	err := s.Write(t.Context(), []sinks.Doc{order(1, 2, "43", "2024-01-01T00:00:00Z", "2")})
	var be *sinks.BatchError
	if !errors.As(err, &be) || be.Failed[0] == nil {
		t.Fatalf("Write: %v, want doc 0 failed", err)
	}
	if after := client.Get(t.Context(), prefix+"order:1").Val(); after != before {
		t.Errorf("failed write changed the doc: %s -> %s, rev key %q", before, after, client.Get(t.Context(), s.revKey(prefix+"order:1")).Val())
	}
}

func privateClient(t *testing.T) *redis.Client {
	srv := testenv.PrivateRedis(t)
	opts, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// TestOOMIsOutage: under noeviction a full Redis refuses writes with
// OOM; README: retried as in an outage, i.e. never a doc failed alone. (A
// hash or delete passes: its first write, DEL, is not deny-oom, after which
// Redis lets the script write on; that is Redis's rule, not a fault.)
func TestOOMIsOutage(t *testing.T) {
	client := privateClient(t)
	s, err := New(client, []View{
		{Name: "j", Key: "j:{id}"},
		{Name: "jt", Key: "jt:{id}", TTL: time.Hour},
		{Name: "h", Key: "h:{id}", Format: FormatHash},
		{Name: "orders", Key: "order:{id}", Indexes: []Index{{Key: "user:{customer.id}:orders", Score: "created_at"}}},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := map[string]any{"a": "b"}
	write(t, s, doc("j", 1, 1, f)) // load the script
	if err := client.ConfigSet(t.Context(), "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.ConfigSet(t.Context(), "maxmemory", "0") })
	for name, d := range map[string]sinks.Doc{
		"json":    doc("j", 2, 1, f),
		"jsonTTL": doc("jt", 2, 1, f),
		"hash":    doc("h", 2, 1, f),
		"indexed": order(2, 1, "42", "2024-01-01T00:00:00Z", "1"),
		"delete":  doc("j", 3, 1, nil),
	} {
		err := s.Write(t.Context(), []sinks.Doc{d})
		var be *sinks.BatchError
		if errors.As(err, &be) {
			t.Errorf("%s: Write under OOM: %v, want a plain (outage) error or success", name, err)
		}
	}
}

// TestReadOnlyIsOutage: a replica answers READONLY: an outage.
func TestReadOnlyIsOutage(t *testing.T) {
	client := privateClient(t)
	s, err := New(client, []View{
		{Name: "j", Key: "j:{id}"},
		{Name: "h", Key: "h:{id}", Format: FormatHash},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := map[string]any{"a": "b"}
	write(t, s, doc("j", 1, 1, f))
	if err := client.Do(t.Context(), "REPLICAOF", "127.0.0.1", "1").Err(); err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string]sinks.Doc{
		"json": doc("j", 2, 1, f), "hash": doc("h", 2, 1, f), "delete": doc("j", 1, 2, nil),
	} {
		err := s.Write(t.Context(), []sinks.Doc{d})
		var be *sinks.BatchError
		if err == nil || errors.As(err, &be) {
			t.Errorf("%s: Write on a read-only replica: %v, want a plain (outage) error", name, err)
		}
	}
}

// TestDeleteOldIndexKeyWrongTypePartialWrite: a delete whose old index key
// holds another type fails before anything is written: deleting the doc key
// first would leave it gone without a tombstone (rev key still the live
// rev, no TTL), its other index entries and membership key in place.
func TestDeleteOldIndexKeyWrongTypePartialWrite(t *testing.T) {
	client, prefix := testenv.Redis(t)
	s := newIndexSink(t, client, prefix, FormatJSON)
	write(t, s, order(1, 1, "42", "2024-01-01T00:00:00Z", "1"))
	client.Del(t.Context(), prefix+"user:42:orders")
	if err := client.Set(t.Context(), prefix+"user:42:orders", "a string", 0).Err(); err != nil {
		t.Fatal(err)
	}
	err := s.Write(t.Context(), []sinks.Doc{doc("orders", 1, 2, nil)})
	var be *sinks.BatchError
	if !errors.As(err, &be) || be.Failed[0] == nil {
		t.Fatalf("Write: %v, want doc 0 failed", err)
	}
	if n := client.Exists(t.Context(), prefix+"order:1").Val(); n != 1 {
		t.Errorf("failed delete removed the doc key (rev key still %q, PTTL %s)",
			client.Get(t.Context(), s.revKey(prefix+"order:1")).Val(), client.PTTL(t.Context(), s.revKey(prefix+"order:1")).Val())
	}
}
