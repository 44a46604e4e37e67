package redis

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Index is a secondary index of a view: a sorted set per index key whose
// members are the ids (sinks.Doc.ID) of the view's docs, scored by a field.
// A reader finds a user's orders newest first with
// ZREVRANGE user:42:orders 0 9 and then GETs order:<id> for each.
//
// The write script keeps an index right as docs change: a doc whose key
// fields change moves from the old sorted set to the new one, a changed
// score is updated, and a deleted doc leaves every index. To know where a
// doc was, the script records a doc's index keys in a set at
// MembershipKeyPrefix + K (tagged like the rev key, so in K's cluster
// slot), written under the same rev guard, in the same script call.
type Index struct {
	// Key is the template of the sorted set's key over doc fields, dotted
	// paths reaching into embedded objects: "user:{customer.id}:orders".
	// "{{" and "}}" are literal braces. A template without placeholders is
	// one sorted set for the whole view.
	Key string
	// Score is the field (or dotted path) that scores the member: a number,
	// or a timestamp or date, scored as milliseconds since the Unix epoch.
	Score string
}

// index is an Index with its key template parsed. A doc is in an index
// only while every placeholder of its key and its score have a value: a
// null or missing one leaves the doc out, as a partial index would.
type index struct {
	Index
	key   template
	score []string // the path of the score field
}

func (s *Sink) compileIndexes(v View, key template) ([]index, error) {
	if len(v.Indexes) == 0 {
		return nil, nil
	}
	if v.TTL > 0 {
		// Redis expires keys, never members of a sorted set: an expired
		// doc would stay in its indexes.
		return nil, errors.New("a view with a TTL cannot have indexes (sorted set members do not expire)")
	}
	if _, ring := s.client.(*redis.Ring); ring {
		// A Ring shards by key on the client: the sorted sets would live
		// wherever the doc's script ran, not where readers look for them.
		return nil, errors.New("indexes need a single server or a cluster")
	}
	out := make([]index, 0, len(v.Indexes))
	seen := map[string]bool{}
	for i, ix := range v.Indexes {
		t, err := parseTemplate(ix.Key)
		if err != nil {
			return nil, fmt.Errorf("index #%d: %w", i+1, err)
		}
		if p := t.prefix(); strings.HasPrefix(p, s.opts.RevKeyPrefix) || strings.HasPrefix(p, s.opts.MembershipKeyPrefix) {
			return nil, fmt.Errorf("index #%d: key template %q starts with a key prefix of projector's own", i+1, ix.Key)
		}
		if seen[ix.Key] {
			return nil, fmt.Errorf("index #%d: key template %q is used twice", i+1, ix.Key)
		}
		seen[ix.Key] = true
		if ix.Score == "" || strings.Contains("."+ix.Score+".", "..") {
			return nil, fmt.Errorf("index #%d: score %q is not a field or dotted path", i+1, ix.Score)
		}
		out = append(out, index{Index: ix, key: t, score: strings.Split(ix.Score, ".")})
	}
	if _, cluster := s.client.(*redis.ClusterClient); cluster {
		if err := sameSlot(key, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sameSlot refuses, for a Redis Cluster, indexes whose keys may be in
// another slot than their documents: the script that writes a document
// keeps its indexes, and a script may only touch keys of one slot. Such a
// view's documents would all be refused; it is refused at start instead.
func sameSlot(key template, indexes []index) error {
	doc, ok := key.placement()
	for _, ix := range indexes {
		if p, ixOK := ix.key.placement(); !ok || !ixOK || p != doc {
			return fmt.Errorf("%w on a Redis Cluster: index key %q may be in another hash slot than the documents' keys, "+
				"and one script writes both; give the key template and every index's the same hash tag, "+
				"a literal one (\"{{orders}}:{id}\" with \"{{orders}}:by_user:{user_id}\") "+
				"or the same field (\"order:{{{user_id}}}:{id}\" with \"user:{{{user_id}}}:orders\")", ErrClusterIndexes, ix.Key)
		}
	}
	return nil
}

// entry is one sorted set a doc belongs in, with its score.
type entry struct {
	key, score string
}

// entries resolves a doc's index keys and scores from its fields. A doc
// left out of an index (a null key field or score) has no entry for it.
func (s *Sink) entries(v *view, fields map[string]any) ([]entry, error) {
	if fields == nil {
		return nil, nil
	}
	out := make([]entry, 0, len(v.indexes))
	for _, ix := range v.indexes {
		key, ok, err := ix.key.resolveFields(fields)
		if err != nil {
			return nil, fmt.Errorf("index %q: %w", ix.Key, err)
		}
		if !ok {
			continue
		}
		if strings.HasPrefix(key, s.opts.RevKeyPrefix) || strings.HasPrefix(key, s.opts.MembershipKeyPrefix) {
			return nil, fmt.Errorf("index %q: %w: key %q is in a key space of projector's own", ix.Key, ErrKey, key)
		}
		raw, _ := lookup(fields, ix.score)
		sc, ok, err := score(raw)
		if err != nil {
			return nil, fmt.Errorf("index %q: score %s: %w: %w", ix.Key, ix.Score, ErrBadValue, err)
		}
		if ok {
			out = append(out, entry{key: key, score: sc})
		}
	}
	return out, nil
}

// lookup follows a dotted path into nested objects.
func lookup(fields map[string]any, path []string) (any, bool) {
	var cur any = fields
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// resolveFields fills the placeholders from a doc's fields, following
// dotted paths; ok is false when one of them has no value.
func (t template) resolveFields(fields map[string]any) (string, bool, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.field == "" {
			b.WriteString(p.literal)
			continue
		}
		v, _ := lookup(fields, strings.Split(p.field, "."))
		if v == nil {
			return "", false, nil
		}
		s, err := keyValue(v)
		if err != nil {
			return "", false, fmt.Errorf("%w: {%s}: %w", ErrKey, p.field, err)
		}
		b.WriteString(s)
	}
	return b.String(), true, nil
}

// Layouts of the timestamps and dates a doc may hold: what the engine
// writes for timestamptz (RFC 3339), timestamp (no zone: UTC) and date.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02"}

// score turns a field value into a sorted-set score: numbers as they are
// (decimals may come as strings), timestamps as epoch milliseconds. ok is
// false for null.
func score(v any) (string, bool, error) {
	var f float64
	switch x := v.(type) {
	case nil:
		return "", false, nil
	case json.Number:
		return number(string(x))
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		return strconv.Itoa(x), true, nil
	case int64:
		return strconv.FormatInt(x, 10), true, nil
	case int32:
		return strconv.FormatInt(int64(x), 10), true, nil
	case uint64:
		return strconv.FormatUint(x, 10), true, nil
	case time.Time:
		return strconv.FormatInt(x.UnixMilli(), 10), true, nil
	case string:
		if s, ok, err := number(x); err == nil {
			return s, ok, nil
		}
		for _, layout := range timeLayouts {
			if t, err := time.Parse(layout, x); err == nil {
				return strconv.FormatInt(t.UnixMilli(), 10), true, nil
			}
		}
		return "", false, fmt.Errorf("%q is neither a number nor a timestamp", x)
	default:
		return "", false, fmt.Errorf("a %T cannot be a score", v)
	}
	return scoreOf(f)
}

// scoreOf is a float as Redis reads a score. An infinity (PostgreSQL's
// 'infinity' timestamp, a number past float64's range) sorts at its end of
// the index; NaN, which has no place in an order, leaves the doc out of
// the index as a null does. Refusing either would refuse the doc for good.
func scoreOf(f float64) (string, bool, error) {
	switch {
	case math.IsNaN(f):
		return "", false, nil
	case math.IsInf(f, 1):
		return "+inf", true, nil
	case math.IsInf(f, -1):
		return "-inf", true, nil
	}
	return strconv.FormatFloat(f, 'g', -1, 64), true, nil
}

// number checks a decimal text and returns it in a form Redis parses.
func number(s string) (string, bool, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return "", false, fmt.Errorf("%q is not a number", s)
	}
	return scoreOf(f)
}
