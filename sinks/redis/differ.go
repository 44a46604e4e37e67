package redis

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/sinks"
)

// Differ compares, for each doc that is not deleted and has fields (a
// recomputed one), what Write would store at its key with what the server
// holds there, unless the revision stored is newer than the doc's (a later
// write, so right). It returns why each doc that differs does, by its
// index in docs: a rebuild's full verification. A JSON document compares
// by value (members in any order), a hash field by field.
func (s *Sink) Differ(ctx context.Context, docs []sinks.Doc) (map[int]string, error) {
	type read struct {
		o   *op
		val redis.Cmder
		rev *redis.StringCmd
	}
	var enc encoder
	reads := map[int]*read{}
	bad := map[int]string{}
	// The pipeline's error is only its first failed command's: each
	// command's own is judged below.
	_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range docs {
			d := &docs[i]
			if d.Deleted || d.Fields == nil || !s.Keyed(d.View, d) {
				continue
			}
			o, err := s.prepare(&enc, d)
			if err != nil {
				bad[i] = err.Error()
				continue
			}
			r := &read{o: o, rev: p.Get(ctx, o.keys[1])}
			switch o.head.op {
			case FormatHash:
				r.val = p.HGetAll(ctx, o.keys[0])
			case FormatReJSON:
				r.val = p.Do(ctx, "JSON.GET", o.keys[0])
			default:
				r.val = p.Get(ctx, o.keys[0])
			}
			reads[i] = r
		}
		return nil
	})
	for i, r := range reads {
		if err := readFailed(r.rev.Err()); err != nil {
			return nil, fmt.Errorf("redis sink: read back: %w", err)
		}
		if err := readFailed(r.val.Err()); err != nil {
			return nil, fmt.Errorf("redis sink: read back: %w", err)
		}
		if wrongType(r.rev.Err()) {
			bad[i] = "cannot read its revision: " + r.rev.Err().Error()
			continue
		}
		stored, err := r.rev.Int64()
		if err == nil && stored > docs[i].Rev {
			continue // written again since: newer
		}
		if why := differs(r.o, r.val); why != "" {
			bad[i] = fmt.Sprintf("%s (stored rev %s)", why, strconv.FormatInt(stored, 10))
		}
	}
	return bad, nil
}

// readFailed is the error of a read that failed for the whole batch (the
// connection, the server's state), nil for one that says something of its
// own doc: the key is missing (redis.Nil) or holds another type
// (WRONGTYPE, left by a format change or another tool).
func readFailed(err error) error {
	if err == nil || errors.Is(err, redis.Nil) || wrongType(err) {
		return nil
	}
	return err
}

// wrongType reports whether err is Redis' answer that a key holds a value
// of another type than the command reads.
func wrongType(err error) bool { return redis.HasErrorPrefix(err, "WRONGTYPE") }

// differs says how the value read back differs from what o writes, ""
// when it does not.
func differs(o *op, val redis.Cmder) string {
	if errors.Is(val.Err(), redis.Nil) {
		return "key missing"
	}
	if val.Err() != nil {
		return "cannot read it: " + val.Err().Error()
	}
	switch o.head.op {
	case FormatHash:
		got := val.(*redis.MapStringStringCmd).Val()
		// Field and value pairs, as many values as args[1] says: the
		// index entries of a view with indexes follow them.
		n, _ := o.args[1].(int)
		want := make(map[string]string, n/2)
		for i := 2; i+1 < 2+n && i+1 < len(o.args); i += 2 {
			want[fmt.Sprint(o.args[i])] = fmt.Sprint(o.args[i+1])
		}
		if len(got) == 0 {
			return "key missing"
		}
		if !reflect.DeepEqual(got, want) {
			return "content differs"
		}
	default:
		var got string
		switch c := val.(type) {
		case *redis.StringCmd:
			got = c.Val()
		case *redis.Cmd:
			got = fmt.Sprint(c.Val())
		}
		if !sinks.SameJSON([]byte(fmt.Sprint(o.args[1])), []byte(got)) {
			return "content differs"
		}
	}
	return ""
}

// StoredRevs reads the revision stored for each doc (a live one's or a
// tombstone's), by its index in docs; a doc with none stored is left out.
// A rebuild verifies a view whose documents change with the clock by it.
func (s *Sink) StoredRevs(ctx context.Context, docs []sinks.Doc) (map[int]int64, error) {
	keys := make([]string, len(docs))
	for i := range docs {
		key, err := s.Key(docs[i].View, docs[i].Key)
		if err != nil {
			return nil, err
		}
		keys[i] = s.revKey(key)
	}
	gets := make([]*redis.StringCmd, len(docs))
	// The pipeline's error is only its first failed command's: each
	// command's own is judged below.
	_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			gets[i] = p.Get(ctx, k)
		}
		return nil
	})
	out := make(map[int]int64, len(docs))
	for i, g := range gets {
		if err := readFailed(g.Err()); err != nil {
			return nil, fmt.Errorf("redis sink: read revisions: %w", err)
		}
		// Missing, or of another type, which a write takes for missing too.
		if rev, err := g.Int64(); err == nil {
			out[i] = rev
		}
	}
	return out, nil
}
