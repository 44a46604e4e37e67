package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/redisconn"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
	"github.com/projectorhq/projector/sinks/sinktest"
)

func TestSuite(t *testing.T) {
	client, prefix := testenv.Redis(t)
	sinktest.Run(t, sinktest.Setup{New: func(t *testing.T, sv sinktest.View) (sinktest.Sink, sinktest.Reader) {
		s := newSink(t, client, prefix, View{Name: sv.Name, Key: prefix + sv.Name + ":{id}"})
		return s, reader{client: client, sink: s}
	}})
}

// TestSuiteWithTTL runs the suite on a view with a TTL, whose docs the
// script writes one by one rather than in one MSET.
func TestSuiteWithTTL(t *testing.T) {
	client, prefix := testenv.Redis(t)
	sinktest.Run(t, sinktest.Setup{New: func(t *testing.T, sv sinktest.View) (sinktest.Sink, sinktest.Reader) {
		s := newSink(t, client, prefix, View{Name: sv.Name, Key: prefix + sv.Name + ":{id}", TTL: time.Hour})
		return s, reader{client: client, sink: s}
	}})
}

// newSink builds a sink whose rev keys, like the doc keys, carry the test's
// prefix so that testenv removes them.
func newSink(t testing.TB, client redis.UniversalClient, prefix string, views ...View) *Sink {
	t.Helper()
	s, err := New(client, views, Options{RevKeyPrefix: prefix + "rev:", TombstoneTTL: time.Hour})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// reader reads JSON docs as a reader of the view would: GET the key.
type reader struct {
	client redis.UniversalClient
	sink   *Sink
}

func (r reader) Get(ctx context.Context, view, _ string, key map[string]any) (map[string]any, bool, error) {
	k, err := r.sink.Key(view, key)
	if err != nil {
		return nil, false, err
	}
	text, err := r.client.Get(ctx, k).Result()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		return nil, false, fmt.Errorf("decode %s: %w", text, err)
	}
	return fields, true, nil
}

func doc(view string, id int, rev int64, fields map[string]any) sinks.Doc {
	n := json.Number(fmt.Sprint(id))
	return sinks.Doc{View: view, ID: string(n), Key: map[string]any{"id": n}, Rev: rev, Fields: fields, Deleted: fields == nil}
}

func write(t *testing.T, s *Sink, docs ...sinks.Doc) {
	t.Helper()
	if err := s.Write(t.Context(), docs); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func TestHashFormat(t *testing.T) {
	client, prefix := testenv.Redis(t)
	s := newSink(t, client, prefix,
		View{Name: "all", Key: prefix + "all:{id}", Format: FormatHash, JSON: []string{"doc", "nested"}},
		View{Name: "some", Key: prefix + "some:{id}", Format: FormatHash, Fields: []string{"name", "nested"}})
	fields := map[string]any{
		"name": `Ann "the" <best>`, "total": "12.50", "qty": json.Number("9223372036854775807"), "paid": true,
		"nested": map[string]any{"a": []any{json.Number("1"), "x"}}, "gone": nil,
		"doc": "123", // a jsonb holding a string: JSON text, told from the number
	}
	write(t, s, doc("all", 1, 1, fields), doc("some", 1, 1, fields))
	tests := []struct {
		name string
		key  string
		want map[string]string
	}{
		{"all fields", prefix + "all:1", map[string]string{
			"name": `Ann "the" <best>`, "total": "12.50", "qty": "9223372036854775807", "paid": "true", "nested": `{"a":[1,"x"]}`,
			"doc": `"123"`,
		}},
		{"declared fields", prefix + "some:1", map[string]string{"name": `Ann "the" <best>`, "nested": `{"a":[1,"x"]}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := client.HGetAll(t.Context(), tt.key).Result()
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("HGETALL = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("field that became null disappears", func(t *testing.T) {
		write(t, s, doc("all", 1, 2, map[string]any{"name": "Ann", "total": nil}))
		got, err := client.HGetAll(t.Context(), prefix+"all:1").Result()
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(map[string]string{"name": "Ann"}) {
			t.Errorf("HGETALL = %v, want only name", got)
		}
	})
	t.Run("doc without fields", func(t *testing.T) {
		write(t, s, doc("all", 1, 3, map[string]any{"total": nil}))
		if n := client.Exists(t.Context(), prefix+"all:1").Val(); n != 0 {
			t.Errorf("key exists after a doc with only null fields")
		}
	})
}

func TestJSONFields(t *testing.T) {
	client, prefix := testenv.Redis(t)
	s := newSink(t, client, prefix, View{Name: "v", Key: prefix + "v:{id}", Fields: []string{"name", "missing"}})
	write(t, s, doc("v", 1, 1, map[string]any{"name": "<b>Ann</b>", "secret": "x"}))
	if got := client.Get(t.Context(), prefix+"v:1").Val(); got != `{"name":"<b>Ann</b>"}` {
		t.Errorf("stored %s, want only the declared field, unescaped", got)
	}
}

func TestTTL(t *testing.T) {
	client, prefix := testenv.Redis(t)
	s := newSink(t, client, prefix,
		View{Name: "json", Key: prefix + "json:{id}", TTL: time.Minute},
		View{Name: "hash", Key: prefix + "hash:{id}", Format: FormatHash, TTL: time.Minute},
		View{Name: "forever", Key: prefix + "forever:{id}"})
	f := map[string]any{"name": "x"}
	write(t, s, doc("json", 1, 1, f), doc("hash", 1, 1, f), doc("forever", 1, 1, f))
	tests := []struct {
		name     string
		key      string
		min, max time.Duration // -1: no expiry
	}{
		{"json doc", prefix + "json:1", 50 * time.Second, time.Minute},
		{"hash doc", prefix + "hash:1", 50 * time.Second, time.Minute},
		{"rev of a doc with TTL outlives it by the tombstone TTL", s.revKey(prefix + "json:1"), time.Hour, time.Hour + time.Minute},
		{"doc without TTL", prefix + "forever:1", -1, -1},
		{"rev of a doc without TTL", s.revKey(prefix + "forever:1"), -1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := client.PTTL(t.Context(), tt.key).Result()
			if err != nil {
				t.Fatal(err)
			}
			if got < tt.min || got > tt.max {
				t.Errorf("PTTL %s = %s, want within [%s, %s]", tt.key, got, tt.min, tt.max)
			}
		})
	}
}

func TestTombstoneTTL(t *testing.T) {
	client, prefix := testenv.Redis(t)
	s := newSink(t, client, prefix, View{Name: "v", Key: prefix + "v:{id}"})
	write(t, s, doc("v", 1, 1, map[string]any{"name": "x"}))
	write(t, s, doc("v", 1, 2, nil))
	if n := client.Exists(t.Context(), prefix+"v:1").Val(); n != 0 {
		t.Fatal("doc key still exists after the delete")
	}
	rev := s.revKey(prefix + "v:1")
	if got := client.Get(t.Context(), rev).Val(); got != "2" {
		t.Errorf("tombstone rev = %q, want 2", got)
	}
	if ttl := client.PTTL(t.Context(), rev).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("tombstone PTTL = %s, want about the 1h tombstone TTL", ttl)
	}
	write(t, s, doc("v", 1, 3, map[string]any{"name": "y"}))
	if ttl := client.PTTL(t.Context(), rev).Val(); ttl != -1 {
		t.Errorf("rev PTTL after recreating = %s, want no expiry", ttl)
	}
}

func TestRevKeys(t *testing.T) {
	s, err := New(redis.NewClient(&redis.Options{}), nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ key, want string }{
		{"order:1", "projector:rev:{order:1}"},
		{"user:{42}:stats", "projector:rev:user:{42}:stats"},
		{"odd:{}:x", "projector:rev:{" + redisconn.SlotTag(slot("odd:{}:x")) + "}odd:{}:x"},
		{"", "projector:rev:{" + redisconn.SlotTag(0) + "}"},
	}
	for _, tt := range tests {
		if got := s.revKey(tt.key); got != tt.want {
			t.Errorf("revKey(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

// TestRevComparison drives the script's string comparison of revs across
// lengths, signs and the 2^53 limit of Lua's numbers.
func TestRevComparison(t *testing.T) {
	tests := []struct {
		name         string
		first, later int64
		applied      bool
	}{
		{"higher", 9, 10, true},
		{"lower", 10, 9, false},
		{"equal", 10, 10, false},
		{"above 2^53, one apart", 9007199254740992, 9007199254740993, true},
		{"above 2^53, one below", 9007199254740993, 9007199254740992, false},
		{"max int64", 9223372036854775806, 9223372036854775807, true},
		{"negative to positive", -5, 3, true},
		{"negative, higher", -10, -9, true},
		{"negative, lower", -9, -10, false},
		{"zero after negative", -1, 0, true},
	}
	client, prefix := testenv.Redis(t)
	s := newSink(t, client, prefix, View{Name: "v", Key: prefix + "v:{id}"})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			write(t, s, doc("v", i, tt.first, map[string]any{"rev": "first"}))
			write(t, s, doc("v", i, tt.later, map[string]any{"rev": "later"}))
			want := `{"rev":"first"}`
			if tt.applied {
				want = `{"rev":"later"}`
			}
			if got := client.Get(t.Context(), fmt.Sprintf("%sv:%d", prefix, i)).Val(); got != want {
				t.Errorf("stored %s, want %s", got, want)
			}
		})
	}
}

func TestWritePartialFailure(t *testing.T) {
	client, prefix := testenv.Redis(t)
	s := newSink(t, client, prefix,
		View{Name: "v", Key: prefix + "v:{id}"},
		View{Name: "pair", Key: prefix + "pair:{a}:{b}"},
		View{Name: "anything", Key: "{id}"},
		View{Name: "h", Key: prefix + "h:{id}", Format: FormatHash},
		View{Name: "js", Key: prefix + "js:{id}", Format: FormatReJSON})
	// Without the RedisJSON module the server refuses the rejson doc, and
	// only that doc.
	noModule := errors.Is(s.Check(t.Context()), ErrNoJSONModule)
	ok := map[string]any{"name": "ok"}
	docs := []sinks.Doc{
		doc("v", 1, 1, ok),
		{View: "pair", ID: "1", Key: map[string]any{"a": "1"}, Rev: 1, Fields: ok}, // {b} missing
		doc("v", 2, 1, map[string]any{"bad": json.Number("12abc")}),                // invalid number
		doc("js", 3, 1, ok), // refused by a server without the module
		{View: "v", ID: "4", Key: map[string]any{"id": map[string]any{"x": "y"}}, Rev: 1, Fields: ok},       // object in a key
		{View: "anything", ID: "5", Key: map[string]any{"id": prefix + "rev:x"}, Rev: 1, Fields: ok},        // into the rev keys
		{View: "nope", ID: "6", Key: map[string]any{"id": "6"}, Rev: 1, Fields: ok},                         // unknown view
		{View: "pair", ID: "7", Key: map[string]any{"a": "1", "b": json.Number("2")}, Rev: 1, Fields: ok},   // fine
		{View: "v", ID: "8", Key: map[string]any{"id": json.Number("8")}, Rev: 1, Fields: map[string]any{}}, // fine
		doc("h", 9, 1, map[string]any{"bad": map[string]any{"f": func() {}}}),                               // cannot be JSON
		doc("h", 10, 1, ok), // fine
	}
	err := s.Write(t.Context(), docs)
	var be *sinks.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("Write: %v, want a *sinks.BatchError", err)
	}
	want := []int{1, 2, 4, 5, 6, 9}
	if noModule {
		want = append(want, 3)
	}
	if len(be.Failed) != len(want) {
		t.Fatalf("Failed = %v, want exactly %v", be.Failed, want)
	}
	for _, i := range want {
		if be.Failed[i] == nil {
			t.Errorf("doc %d did not fail; Failed = %v", i, be.Failed)
		}
	}
	for _, key := range []string{prefix + "v:1", prefix + "pair:1:2", prefix + "v:8", prefix + "h:10"} {
		if client.Exists(t.Context(), key).Val() != 1 {
			t.Errorf("%s was not written", key)
		}
	}
}

func TestWriteWholeBatchFailure(t *testing.T) {
	opts, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	s := newSink(t, client, "p:", View{Name: "v", Key: "p:v:{id}"})
	err = s.Write(t.Context(), []sinks.Doc{doc("v", 1, 1, map[string]any{"a": "b"})})
	var be *sinks.BatchError
	if err == nil || errors.As(err, &be) {
		t.Fatalf("Write on a closed client: %v, want an error for the whole batch", err)
	}
}

// TestScriptNotLoaded makes the server meet a script it has never seen, as
// after a restart or SCRIPT FLUSH, without flushing the shared server.
func TestScriptNotLoaded(t *testing.T) {
	client, prefix := testenv.Redis(t)
	s := newSink(t, client, prefix, View{Name: "v", Key: prefix + "v:{id}"})
	s.script = redis.NewScript(writeScript + "\n-- " + testenv.Name("unseen"))
	write(t, s, doc("v", 1, 2, map[string]any{"a": "b"}), doc("v", 1, 1, map[string]any{"a": "old"}))
	if got := client.Get(t.Context(), prefix+"v:1").Val(); got != `{"a":"b"}` {
		t.Errorf("stored %s, want rev 2's doc", got)
	}
	if s.Stale() != 1 {
		t.Errorf("Stale() = %d, want 1", s.Stale())
	}
}

func TestReJSON(t *testing.T) {
	client, prefix := testenv.Redis(t)
	s := newSink(t, client, prefix, View{Name: "v", Key: prefix + "v:{id}", Format: FormatReJSON})
	err := s.Check(t.Context())
	if errors.Is(err, ErrNoJSONModule) {
		// What a misconfigured deployment meets: each doc fails and the
		// value already at its key is left alone.
		if err := client.Set(t.Context(), prefix+"v:1", "before", 0).Err(); err != nil {
			t.Fatal(err)
		}
		var be *sinks.BatchError
		if err := s.Write(t.Context(), []sinks.Doc{doc("v", 1, 1, map[string]any{"a": "b"})}); !errors.As(err, &be) || len(be.Failed) != 1 {
			t.Fatalf("Write without the module: %v, want the doc failed", err)
		}
		if got := client.Get(t.Context(), prefix+"v:1").Val(); got != "before" {
			t.Fatalf("key holds %q after the failed write, want it untouched", got)
		}
		t.Skip("the test server has no RedisJSON module: Check reported it")
	}
	if err != nil {
		t.Fatal(err)
	}
	write(t, s, doc("v", 1, 1, map[string]any{"name": "Ann", "n": json.Number("2")}))
	got, err := client.Do(t.Context(), "JSON.GET", prefix+"v:1", "$.name").Text()
	if err != nil || got != `["Ann"]` {
		t.Errorf("JSON.GET = %q, %v; want [\"Ann\"]", got, err)
	}
}

func TestCheck(t *testing.T) {
	client, prefix := testenv.Redis(t)
	if err := newSink(t, client, prefix, View{Name: "v", Key: prefix + "v:{id}"}).Check(t.Context()); err != nil {
		t.Errorf("Check without rejson views: %v", err)
	}
}

// Check refuses a maxmemory-policy that can evict any revision key and
// reports one that can evict tombstones. It runs on a Redis of its own:
// the daemons of other packages' tests check the shared one as they start.
func TestCheckEvictionPolicy(t *testing.T) {
	srv := testenv.PrivateRedis(t)
	opts, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	s := newSink(t, client, "", View{Name: "v", Key: "v:{id}"})
	for _, tt := range []struct {
		policy string
		want   error
	}{
		{"allkeys-lru", ErrEvictionPolicy},
		{"allkeys-random", ErrEvictionPolicy},
		{"volatile-ttl", ErrVolatileEviction}, // tombstones carry a TTL
		{"volatile-lru", ErrVolatileEviction},
		{"noeviction", nil},
	} {
		if err := client.ConfigSet(t.Context(), "maxmemory-policy", tt.policy).Err(); err != nil {
			t.Fatalf("CONFIG SET maxmemory-policy %s: %v", tt.policy, err)
		}
		err := s.Check(t.Context())
		if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("Check under %s: %v, want %v", tt.policy, err, tt.want)
		}
		if tt.want != nil && !strings.Contains(fmt.Sprint(err), tt.policy) {
			t.Errorf("Check under %s: %v, want the policy named", tt.policy, err)
		}
	}
}

// TestRefusedButStale: a doc whose value cannot be stored, and whose rev is
// not newer than the stored one, is stale, as the script would find it, not
// refused; a newer one is refused.
func TestRefusedButStale(t *testing.T) {
	client, prefix := testenv.Redis(t)
	s := newSink(t, client, prefix, View{Name: "v", Key: prefix + "v:{id}"})
	write(t, s, doc("v", 1, 5, map[string]any{"a": "b"}))
	bad := map[string]any{"bad": json.Number("12abc")}
	if err := s.Write(t.Context(), []sinks.Doc{doc("v", 1, 4, bad), doc("v", 1, 5, bad)}); err != nil {
		t.Fatalf("Write of outdated docs: %v, want them stale", err)
	}
	if s.Stale() != 2 {
		t.Errorf("Stale() = %d, want 2", s.Stale())
	}
	err := s.Write(t.Context(), []sinks.Doc{doc("v", 1, 6, bad), doc("v", 2, 1, bad)})
	var be *sinks.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 2 || !errors.Is(be.Failed[0], sinks.ErrRefused) || !errors.Is(be.Failed[1], sinks.ErrRefused) {
		t.Fatalf("Write of newer docs: %v, want both refused", err)
	}
	if got := client.Get(t.Context(), prefix+"v:1").Val(); got != `{"a":"b"}` {
		t.Errorf("stored %s, want rev 5's doc", got)
	}
}
