package redis

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// newIndexSink builds a sink for an "orders" view indexed per customer by
// created_at and globally by total, with every key under the test's prefix.
func newIndexSink(t *testing.T, client redis.UniversalClient, prefix string, format string) *Sink {
	t.Helper()
	s, err := New(client, []View{{
		Name: "orders", Key: prefix + "order:{id}", Format: format,
		Indexes: []Index{
			{Key: prefix + "user:{customer.id}:orders", Score: "created_at"},
			{Key: prefix + "orders:by_total", Score: "total"},
		},
	}}, Options{RevKeyPrefix: prefix + "rev:", MembershipKeyPrefix: prefix + "ix:", TombstoneTTL: time.Hour})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func order(id int, rev int64, customer any, createdAt string, total any) sinks.Doc {
	return doc("orders", id, rev, map[string]any{
		"id": json.Number(fmt.Sprint(id)), "customer": map[string]any{"id": customer, "name": "Ann"},
		"created_at": createdAt, "total": total,
	})
}

// zsets reads the sorted sets whose names match the patterns: key →
// member → score.
func zsets(t *testing.T, client *redis.Client, patterns ...string) map[string]map[string]float64 {
	t.Helper()
	var keys []string
	for _, p := range patterns {
		k, err := client.Keys(t.Context(), p).Result()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k...)
	}
	out := map[string]map[string]float64{}
	for _, k := range keys {
		zs, err := client.ZRangeWithScores(t.Context(), k, 0, -1).Result()
		if err != nil {
			t.Fatalf("ZRANGE %s: %v", k, err)
		}
		out[k] = map[string]float64{}
		for _, z := range zs {
			out[k][z.Member.(string)] = z.Score
		}
	}
	return out
}

func millis(ts string) float64 {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		panic(err)
	}
	return float64(t.UnixMilli())
}

func TestIndexes(t *testing.T) {
	for _, format := range []string{FormatJSON, FormatHash} {
		t.Run(format, func(t *testing.T) {
			client, prefix := testenv.Redis(t)
			s := newIndexSink(t, client, prefix, format)
			user := func(id string) string { return prefix + "user:" + id + ":orders" }
			byTotal := prefix + "orders:by_total"
			const t1, t2, t3 = "2024-01-02T03:04:05.678Z", "2024-02-01T00:00:00Z", "2024-03-01T12:00:00+02:00"
			steps := []struct {
				name string
				docs []sinks.Doc
				want map[string]map[string]float64
			}{
				{"add", []sinks.Doc{order(1, 1, "42", t1, "12.50"), order(2, 1, json.Number("43"), t2, json.Number("7"))},
					map[string]map[string]float64{
						user("42"): {"1": millis(t1)},
						user("43"): {"2": millis(t2)},
						byTotal:    {"1": 12.5, "2": 7},
					}},
				{"move between index keys", []sinks.Doc{order(1, 2, "43", t1, "12.50")},
					map[string]map[string]float64{
						user("43"): {"1": millis(t1), "2": millis(t2)},
						byTotal:    {"1": 12.5, "2": 7},
					}},
				{"score update", []sinks.Doc{order(2, 2, "43", t3, json.Number("99.5"))},
					map[string]map[string]float64{
						user("43"): {"1": millis(t1), "2": millis(t3)},
						byTotal:    {"1": 12.5, "2": 99.5},
					}},
				{"stale rev leaves the indexes alone", []sinks.Doc{order(1, 1, "44", t2, "1"), order(2, 2, "44", t2, "1")},
					map[string]map[string]float64{
						user("43"): {"1": millis(t1), "2": millis(t3)},
						byTotal:    {"1": 12.5, "2": 99.5},
					}},
				{"null key field leaves that index only", []sinks.Doc{order(1, 3, nil, t1, "12.50")},
					map[string]map[string]float64{
						user("43"): {"2": millis(t3)},
						byTotal:    {"1": 12.5, "2": 99.5},
					}},
				{"null score leaves that index only", []sinks.Doc{order(1, 4, "42", t1, nil)},
					map[string]map[string]float64{
						user("42"): {"1": millis(t1)},
						user("43"): {"2": millis(t3)},
						byTotal:    {"2": 99.5},
					}},
				{"one doc twice in a batch: the higher rev wins", []sinks.Doc{order(1, 6, "45", t2, "3"), order(1, 5, "46", t1, "4")},
					map[string]map[string]float64{
						user("43"): {"2": millis(t3)},
						user("45"): {"1": millis(t2)},
						byTotal:    {"1": 3, "2": 99.5},
					}},
				{"delete leaves every index", []sinks.Doc{doc("orders", 1, 7, nil)},
					map[string]map[string]float64{
						user("43"): {"2": millis(t3)},
						byTotal:    {"2": 99.5},
					}},
				{"an older write after the delete changes nothing", []sinks.Doc{order(1, 6, "45", t2, "3")},
					map[string]map[string]float64{
						user("43"): {"2": millis(t3)},
						byTotal:    {"2": 99.5},
					}},
			}
			for _, st := range steps {
				if err := s.Write(t.Context(), st.docs); err != nil {
					t.Fatalf("%s: Write: %v", st.name, err)
				}
				got := zsets(t, client, prefix+"user:*", prefix+"orders:*")
				if fmt.Sprint(got) != fmt.Sprint(st.want) {
					t.Fatalf("%s:\n got %v\nwant %v", st.name, got, st.want)
				}
			}
			if n := client.Exists(t.Context(), s.membershipKey(prefix+"order:1")).Val(); n != 0 {
				t.Errorf("the deleted doc's membership key still exists")
			}
			if n := client.Exists(t.Context(), prefix+"order:2").Val(); n != 1 {
				t.Errorf("order 2 was not written")
			}
		})
	}
}

// TestIndexWrongType: an index key holding another type fails that doc
// only, and leaves the doc and its memberships as they were.
func TestIndexWrongType(t *testing.T) {
	client, prefix := testenv.Redis(t)
	s := newIndexSink(t, client, prefix, FormatJSON)
	write(t, s, order(1, 1, "42", "2024-01-01T00:00:00Z", "1"))
	if err := client.Set(t.Context(), prefix+"user:bad:orders", "a string", 0).Err(); err != nil {
		t.Fatal(err)
	}
	err := s.Write(t.Context(), []sinks.Doc{order(1, 2, "bad", "2024-01-01T00:00:00Z", "2"), order(2, 1, "42", "2024-01-01T00:00:00Z", "3")})
	var be *sinks.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 1 || be.Failed[0] == nil {
		t.Fatalf("Write: %v, want doc 0 failed", err)
	}
	if got := client.Get(t.Context(), s.revKey(prefix+"order:1")).Val(); got != "1" {
		t.Errorf("rev of the failed doc = %q, want 1", got)
	}
	if got := client.ZScore(t.Context(), prefix+"user:42:orders", "1").Val(); got != millis("2024-01-01T00:00:00Z") {
		t.Errorf("failed doc's old membership score = %v, want it kept", got)
	}
	// Once the key is fixed, the retry moves the doc.
	client.Del(t.Context(), prefix+"user:bad:orders")
	write(t, s, order(1, 2, "bad", "2024-01-01T00:00:00Z", "2"))
	if client.ZScore(t.Context(), prefix+"user:42:orders", "1").Err() != redis.Nil {
		t.Errorf("doc 1 is still in its old index after the retry")
	}
}

func TestScore(t *testing.T) {
	tests := []struct {
		in   any
		want string // "" with ok false: not indexed; "error": an error
	}{
		{nil, ""},
		{json.Number("12"), "12"},
		{json.Number("-1.5e3"), "-1500"},
		{"12.50", "12.5"},
		{float64(0.25), "0.25"},
		{int64(1700000000000), "1700000000000"},
		{"2024-01-02T03:04:05.678Z", "1704164645678"},
		{"2024-01-02T05:04:05.678+02:00", "1704164645678"},
		{"2024-01-02T03:04:05.678", "1704164645678"}, // timestamp without zone: UTC
		{"2024-01-02", "1704153600000"},
		{time.UnixMilli(42).In(time.FixedZone("x", 3600)), "42"},
		{"soon", "error"},
		{true, "error"},
		// Values a store holds, which the index must take (refusing
		// them would refuse the doc for good): infinities sort at their
		// end, NaN is left out like null.
		{json.Number("1e400"), "+inf"},
		{"-1e400", "-inf"},
		{"infinity", "+inf"},
		{"-infinity", "-inf"},
		{math.Inf(1), "+inf"},
		{math.NaN(), ""},
		{"NaN", ""},
		{map[string]any{}, "error"},
	}
	for _, tt := range tests {
		got, ok, err := score(tt.in)
		switch {
		case tt.want == "error":
			if err == nil {
				t.Errorf("score(%#v) = %q, want an error", tt.in, got)
			}
		case err != nil || ok != (tt.want != "") || got != tt.want:
			t.Errorf("score(%#v) = %q, %v, %v; want %q", tt.in, got, ok, err, tt.want)
		}
	}
}

func TestIndexViewErrors(t *testing.T) {
	client := redis.NewClient(&redis.Options{})
	ix := []Index{{Key: "u:{customer.id}", Score: "created_at"}}
	tests := []struct {
		name string
		view View
		opts Options
		want string
	}{
		{"ttl", View{Name: "v", Key: "v:{id}", TTL: time.Hour, Indexes: ix}, Options{}, "cannot have indexes"},
		{"twice", View{Name: "v", Key: "v:{id}", Indexes: append(ix, ix[0])}, Options{}, "used twice"},
		{"bad template", View{Name: "v", Key: "v:{id}", Indexes: []Index{{Key: "u:{", Score: "x"}}}, Options{}, "unclosed"},
		{"no score", View{Name: "v", Key: "v:{id}", Indexes: []Index{{Key: "u:{a}"}}}, Options{}, "score"},
		{"bad score path", View{Name: "v", Key: "v:{id}", Indexes: []Index{{Key: "u:{a}", Score: "a..b"}}}, Options{}, "score"},
		{"index in the rev keys", View{Name: "v", Key: "v:{id}", Indexes: []Index{{Key: "projector:rev:{a}", Score: "x"}}}, Options{}, "key prefix"},
		{"doc key in the membership keys", View{Name: "v", Key: "projector:ix:{id}"}, Options{}, "membership key prefix"},
		{"overlapping prefixes", View{Name: "v", Key: "v:{id}"}, Options{MembershipKeyPrefix: "projector:rev:ix:"}, "overlap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(client, []View{tt.view}, tt.opts)
			if !errors.Is(err, ErrInvalidView) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want ErrInvalidView mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := New(redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}}), []View{{Name: "v", Key: "v:{id}", Indexes: ix}}, Options{}); err == nil {
		t.Errorf("New with a Ring accepted indexes")
	}
}
