package debezium

import (
	"strconv"
	"strings"
	"testing"
)

// r19aDecodeDiff decodes a MongoDB 1.x oplog update whose patch is the
// given {"$v": 2, "diff": …} document.
func r19aDecodeDiff(t *testing.T, patch string) (Change, []byte, error) {
	t.Helper()
	msg := mongoValue("u", "", patch, `{"_id": 1}`, "")
	ch, err := mustDecoder(t, Options{}).Decode(nil, msg)
	return ch, msg, err
}

// TestR19aDiffDeepFanOutAmplifies: a $v:2 diff shares a path prefix between
// all the fields of a sub-diff ("sa": {"sa": … {"i": {f1, f2, …}}}), and
// applyDiff (mongo.go:131-181) flattens it into one full dotted path per
// field, with nothing bounding depth × fields: a 0.55 MB record becomes
// 38 MB of patch paths (72×), each 501 levels deep (MongoDB itself never nests
// beyond 100-200 levels). Both appliers then walk every path from the root
// at every level (mempatch.go:49-51 at(root, p[:i-1]); patch.go's
// jsonb_patch `doc #> p[1:i-1]` per step), O(fields × depth²): measured,
// 20,000 such fields (a 254 KB record) take 40 s in jsonbPatch, and 2,000
// (a 20 KB record) 11 s inside PostgreSQL's jsonb_patch, per record, while
// byBytes (batchbytes.go) budgets a batch by the records' own bytes.
func TestR19aDiffDeepFanOutAmplifies(t *testing.T) {
	const depth, fields = 500, 40000
	var b strings.Builder
	b.WriteString(`{"$v": 2, "diff": `)
	b.WriteString(strings.Repeat(`{"sa": `, depth))
	b.WriteString(`{"i": {`)
	for i := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"f` + strconv.Itoa(i) + `": 1`)
	}
	b.WriteString(`}}` + strings.Repeat(`}`, depth) + `}`)
	ch, msg, err := r19aDecodeDiff(t, b.String())
	if err != nil {
		return // refused as malformed or too large: fine
	}
	pathBytes := 0
	for k := range ch.Patch.Set {
		pathBytes += len(k)
	}
	if pathBytes > 16<<20 {
		t.Errorf("a %d-byte record decoded to a patch of %d paths totalling %d MB (%d×), each %d levels deep; want it refused (malformed) or bounded",
			len(msg), len(ch.Patch.Set), pathBytes>>20, pathBytes/len(msg), depth+1)
	}
}

// TestR19aDiffMalformedArrayAccepted: MongoDB's ArrayDiffReader
// (document_diff_serialization.cpp) takes "l" as a NumberInt new size and
// an element index as parseUnsignedBase10Integer, and an array diff holds
// only "a", "l", "u<index>" and "s<index>". applyDiff (mongo.go:155-176)
// ignores "a", takes any int64 as "l", and strconv.Atoi's signed indexes.
// A negative length empties the array (jsonbTruncate max(n, 0), SQL
// `WHERE i <= n`); a signed index makes a path the appliers refuse, so the
// update is skipped as stale instead of dead-lettered; "d" in an array diff
// nulls an element. Each is a malformed record applied silently.
func TestR19aDiffMalformedArrayAccepted(t *testing.T) {
	for _, tc := range []struct{ name, patch, updateDescr string }{
		{"negative l", `{"$v": 2, "diff": {"sarr": {"a": true, "l": -1}}}`, ""},
		{"negative truncatedArrays size", "", `{"updatedFields": null, "removedFields": [], "truncatedArrays": [{"field": "arr", "size": -1}]}`},
		{"signed index u-1", `{"$v": 2, "diff": {"sarr": {"a": true, "u-1": 5}}}`, ""},
		{"signed index u+1", `{"$v": 2, "diff": {"sarr": {"a": true, "u+1": 5}}}`, ""},
		{"d in an array diff", `{"$v": 2, "diff": {"sarr": {"a": true, "d": {"0": false}}}}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := mongoValue("u", "", tc.patch, `{"_id": 1}`, tc.updateDescr)
			ch, err := mustDecoder(t, Options{}).Decode(nil, msg)
			if err == nil {
				p := ch.Patch
				if p == nil {
					p = &Patch{}
				}
				t.Errorf("malformed update accepted: set %v, unset %v, truncated %v; want a malformed error (dead letter)", p.Set, p.Unset, p.Truncated)
			}
		})
	}
}

// TestR19aDiffDottedFieldNameBecomesPath: since MongoDB 5.0 a field name may
// hold a dot ($setField, $getField), and a $v:2 diff names fields one level
// at a time: {"u": {"a.b": 1}} sets the top-level field "a.b". applyDiff
// (mongo.go:141, 149, 168) joins names with "." into Patch paths, which the
// appliers split again, so the patch writes field b inside a (creating or
// overwriting it) and a "d" of "a.b" removes a's b: the stored document is
// silently wrong. The diff is unambiguous, unlike change streams'
// updatedFields, so the decoder can refuse it.
func TestR19aDiffDottedFieldNameBecomesPath(t *testing.T) {
	for _, tc := range []struct{ name, patch, path string }{
		{"u", `{"$v": 2, "diff": {"u": {"a.b": 1}}}`, "a.b"},
		{"i", `{"$v": 2, "diff": {"i": {"a.b": 1}}}`, "a.b"},
		{"d", `{"$v": 2, "diff": {"d": {"a.b": false}}}`, "a.b"},
		{"s", `{"$v": 2, "diff": {"sa.b": {"u": {"c": 1}}}}`, "a.b.c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch, _, err := r19aDecodeDiff(t, tc.patch)
			if err != nil {
				return
			}
			_, set := ch.Patch.Set[tc.path]
			unset := false
			for _, u := range ch.Patch.Unset {
				unset = unset || u == tc.path
			}
			if set || unset {
				t.Errorf("%s: the literal field name became the nested path %q (set %v, unset %v); want it refused or kept as one name", tc.patch, tc.path, ch.Patch.Set, ch.Patch.Unset)
			}
		})
	}
}
