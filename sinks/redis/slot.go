package redis

import (
	"strings"

	"github.com/projectorhq/projector/internal/redisconn"
)

// The hash slot math of a Redis Cluster: a script may only touch keys of
// one slot, so a cluster's batch is grouped by it.
var (
	slot    = redisconn.Slot
	hashTag = redisconn.HashTag
)

const clusterSlots = redisconn.Slots

// placement is where a template puts its keys in a Redis Cluster, when
// that is known before any key is resolved: all in one slot, or in the
// slot of one field's value, which the template makes the hash tag.
type placement struct {
	slot  int    // the slot of every key, when field is ""
	field string // the field whose value is every key's hash tag
}

// placement is where t's keys go; ok is false when their hash tags
// depend on their values in any other way (a key without a tag is hashed
// whole).
func (t template) placement() (p placement, ok bool) {
	lead := t.prefix()
	switch {
	case len(t.parts) == 1 && lead != "":
		return placement{slot: slot(lead)}, true // one key
	case hashTag(lead) != lead:
		return placement{slot: slot(lead)}, true // a literal tag: "{orders}:{id}"
	}
	// "user:{{{user_id}}}:orders": the tag is the first placeholder's value,
	// between the first "{" (ending the literal text before it) and the
	// "}" starting the text after it.
	i := 0
	if lead != "" {
		i = 1
	}
	if i+1 >= len(t.parts) || t.parts[i].field == "" || !strings.HasSuffix(lead, "{") ||
		strings.IndexByte(lead, '{') != len(lead)-1 || !strings.HasPrefix(t.parts[i+1].literal, "}") {
		return placement{}, false
	}
	return placement{field: t.parts[i].field}, true
}

// inSlot is, on a Redis Cluster, the entries of the doc at key that the
// script writing it may touch, those in key's slot (a script touches one
// slot only). A view's indexes share its key's hash tag (see sameSlot),
// but when that tag is a field whose value is empty or starts with "}",
// the tag is empty and Redis hashes each key whole, into different slots:
// the doc is then left out of every index, as a null field leaves it out,
// rather than refused on every retry; even where its keys happen to share
// a slot, so that such a doc is never in an index.
func (v *view) inSlot(key string, entries []entry) []entry {
	untagged := func(k string) bool { return v.tagField != "" && hashTag(k) == k }
	if untagged(key) {
		return nil
	}
	kept := entries[:0]
	for _, e := range entries {
		if !untagged(e.key) && slot(e.key) == slot(key) {
			kept = append(kept, e)
		}
	}
	return kept
}
