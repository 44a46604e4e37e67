package redis

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/redis/go-redis/v9"
)

// purgeScript deletes one document written under a key template the view
// no longer has: its key, its rev key, and its index memberships, but for
// the index sets the document is in under its current key (index members
// are document ids, which both keys share).
//
//	KEYS  the doc key, its rev key, its membership key, and the membership
//	      key of its current key
//	ARGV  the member the indexes hold it as (the doc's id)
const purgeScript = `
local now = {}
for _, ix in ipairs(redis.call('SMEMBERS', KEYS[4])) do now[ix] = true end
for _, ix in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if not now[ix] then redis.call('ZREM', ix, ARGV[1]) end
end
return redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
`

var purger = redis.NewScript(purgeScript)

// Purge deletes documents a view wrote under another key template (its key
// changed since): each of keys with its rev key and its index memberships,
// except those the document has under its current key (currents, the same
// length); members are the doc ids the indexes hold them as. Unlike Write
// it takes whole keys and no revision: nothing writes these keys any more.
// In a Redis Cluster a document whose two keys are in different slots
// keeps its old index entries (a script may touch one slot only).
func (s *Sink) Purge(ctx context.Context, keys, currents, members []string) error {
	if len(keys) != len(members) || len(keys) != len(currents) {
		return fmt.Errorf("redis sink: purge: %d keys, %d current keys, %d members", len(keys), len(currents), len(members))
	}
	if len(keys) == 0 {
		return nil
	}
	// EVALSHA in a pipeline does not fall back to EVAL: load it first
	// (on every primary of a cluster).
	if err := purger.Load(ctx, s.client).Err(); err != nil {
		return fmt.Errorf("redis sink: purge: %w", err)
	}
	for start := 0; start < len(keys); start += chunkDocs * 10 {
		end := min(start+chunkDocs*10, len(keys))
		cmds := make([]*redis.Cmd, 0, end-start)
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := start; i < end; i++ {
				k, now := keys[i], s.membershipKey(currents[i])
				if _, cluster := s.client.(*redis.ClusterClient); cluster && slot(now) != slot(k) {
					now = s.membershipKey(k) // every old index entry stays
				}
				cmds = append(cmds, purger.EvalSha(ctx, p, []string{k, s.revKey(k), s.membershipKey(k), now}, members[i]))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("redis sink: purge: %w", err)
		}
		for _, c := range cmds {
			if err := c.Err(); err != nil {
				return fmt.Errorf("redis sink: purge: %w", err)
			}
		}
	}
	return nil
}

// KeyFor is the key template gives a document of this key (id fields).
func KeyFor(template string, key map[string]any) (string, error) {
	t, err := parseTemplate(template)
	if err != nil {
		return "", err
	}
	return t.resolve(key)
}

// Matcher reports whether a key could have come from a template: its
// literal text in place and something in every placeholder.
func Matcher(template string) (func(key string) bool, error) {
	return MatcherOf(template, nil)
}

// MatcherOf is Matcher with what each placeholder can hold: shapes maps a
// field to a regular expression of its values' text (digits for an
// integer id); a field it does not name holds anything.
func MatcherOf(template string, shapes map[string]string) (func(key string) bool, error) {
	t, err := parseTemplate(template)
	if err != nil {
		return nil, err
	}
	var re strings.Builder
	re.WriteString("^")
	for _, p := range t.parts {
		switch shape, ok := shapes[p.field]; {
		case p.field == "":
			re.WriteString(regexp.QuoteMeta(p.literal))
		case ok:
			re.WriteString("(?:" + shape + ")")
		default:
			re.WriteString("(?s:.+)")
		}
	}
	re.WriteString("$")
	m, err := regexp.Compile(re.String())
	if err != nil {
		return nil, err
	}
	return m.MatchString, nil
}
