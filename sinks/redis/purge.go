package redis

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/redis/go-redis/v9"
)

// purgeScript deletes one document written under a key template the view
// no longer has: its key, its rev key, and its index memberships.
//
//	KEYS  the doc key, its rev key, its membership key
//	ARGV  the member the indexes hold it as (the doc's id)
const purgeScript = `
for _, ix in ipairs(redis.call('SMEMBERS', KEYS[3])) do redis.call('ZREM', ix, ARGV[1]) end
return redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
`

var purger = redis.NewScript(purgeScript)

// Purge deletes documents a view wrote under another key template (its key
// changed since): each of keys with its rev key and index memberships;
// members are the doc ids its indexes hold them as. Unlike Write it takes
// whole keys and no revision: nothing writes these keys any more.
func (s *Sink) Purge(ctx context.Context, keys, members []string) error {
	if len(keys) != len(members) {
		return fmt.Errorf("redis sink: purge: %d keys, %d members", len(keys), len(members))
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
				k := keys[i]
				cmds = append(cmds, purger.EvalSha(ctx, p, []string{k, s.revKey(k), s.membershipKey(k)}, members[i]))
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
	t, err := parseTemplate(template)
	if err != nil {
		return nil, err
	}
	var re strings.Builder
	re.WriteString("^")
	for _, p := range t.parts {
		if p.field == "" {
			re.WriteString(regexp.QuoteMeta(p.literal))
		} else {
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
