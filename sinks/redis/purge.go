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
//	      key of its current key, left out when no index set of the old
//	      key can be one of the current key's (see Purge)
//	ARGV  the member the indexes hold it as (the doc's id)
const purgeScript = `
local now = {}
if KEYS[4] then
  for _, ix in ipairs(redis.call('SMEMBERS', KEYS[4])) do now[ix] = true end
end
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
// In a Redis Cluster every index set of a document is in its key's slot
// (see sameSlot), so a document whose two keys are in different slots has
// no index set under both: all its old entries go, and the script, which
// may touch one slot only, is not given the current key's memberships.
func (s *Sink) Purge(ctx context.Context, keys, currents, members []string) error {
	if len(keys) != len(members) || len(keys) != len(currents) {
		return fmt.Errorf("redis sink: purge: %d keys, %d current keys, %d members", len(keys), len(currents), len(members))
	}
	if len(keys) == 0 {
		return nil
	}
	for start := 0; start < len(keys); start += chunkDocs * 10 {
		end := min(start+chunkDocs*10, len(keys))
		calls := make([][]string, 0, end-start)
		for i := start; i < end; i++ {
			k, now := keys[i], s.membershipKey(currents[i])
			call := []string{k, s.revKey(k), s.membershipKey(k), now}
			if _, cluster := s.client.(*redis.ClusterClient); cluster && slot(now) != slot(k) {
				call = call[:3] // every old index entry goes
			}
			calls = append(calls, call)
		}
		if err := s.purge(ctx, calls, members[start:end]); err != nil {
			return fmt.Errorf("redis sink: purge: %w", err)
		}
	}
	return nil
}

// purge runs purgeScript once per keys (with the member of the same
// index) in one pipeline. EVALSHA in a pipeline does not fall back to
// EVAL: the calls of a server that does not have the script (a restart, a
// cluster node promoted or added) run again with EVAL.
func (s *Sink) purge(ctx context.Context, keys [][]string, members []string) error {
	cmds := make([]*redis.Cmd, len(keys))
	_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, ks := range keys {
			cmds[i] = purger.EvalSha(ctx, p, ks, members[i])
		}
		return nil
	}) // every command carries its own error
	var again []int
	for i, c := range cmds {
		switch err := c.Err(); {
		case redis.HasErrorPrefix(err, "NOSCRIPT"):
			again = append(again, i)
		case err != nil:
			return err
		}
	}
	if len(again) == 0 {
		return nil
	}
	_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, i := range again {
			cmds[i] = purger.Eval(ctx, p, keys[i], members[i])
		}
		return nil
	})
	for _, i := range again {
		if err := cmds[i].Err(); err != nil {
			return err
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
