package query

import (
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestCursorRefersOnlyToALongSortKey: a cursor refers to the page's last
// doc instead of carrying its sort key (which makes it stale once that doc
// is deleted) only when the sort key is what makes the cursor long. Ids of
// kilobytes make it long too, and there the key is carried, unless it is
// too long for even the ids' allowance.
func TestCursorRefersOnlyToALongSortKey(t *testing.T) {
	c := cursorCodec{key: []byte("k")}
	longID := strings.Repeat("h", 1900)
	shortID := "42"
	// Text that does not compress: a sort key no cursor can carry.
	raw := make([]byte, 40<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range raw {
		raw[i] = byte(rng.Uint32())
	}
	huge := base64.StdEncoding.EncodeToString(raw)
	for _, tc := range []struct {
		name    string
		sortKey string
		ids     []string
		wantRef bool
	}{
		{"short key, short id", "1", []string{shortID}, false},
		{"short key, ids of kilobytes", "1", []string{longID + "a", longID + "b"}, false},
		{"long key, short id", strings.Repeat("s", 5000), []string{shortID}, true},
		{"long key, ids of kilobytes", strings.Repeat("s", 5000), []string{longID + "a", longID + "b"}, false},
		{"key too long for any cursor, ids of kilobytes", huge, []string{longID + "a", longID + "b"}, true},
		{"key longer than a cursor inflates to, ids of kilobytes", strings.Repeat("s", maxInflated), []string{longID + "a", longID + "b"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys := []*string{&tc.sortKey}
			for _, id := range tc.ids {
				keys = append(keys, &id)
			}
			s, err := c.next(cursor{View: "v", Query: "q", Keys: keys}, true)
			if err != nil {
				t.Fatal(err)
			}
			if len(s) > maxCursorBytes {
				t.Errorf("cursor of %d bytes, over %d", len(s), maxCursorBytes)
			}
			got, err := c.decode(s)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if (got.Ref != "") != tc.wantRef {
				t.Errorf("refers to the sort key: %v, want %v (cursor of %d bytes)", got.Ref != "", tc.wantRef, len(s))
			}
			if !tc.wantRef && (got.Keys[0] == nil || *got.Keys[0] != tc.sortKey) {
				t.Errorf("sort key not carried")
			}
			if tc.wantRef && !refMatches(tc.sortKey, got.Ref) {
				t.Errorf("Ref does not match the sort key")
			}
			for i, id := range tc.ids {
				if got.Keys[i+1] == nil || *got.Keys[i+1] != id {
					t.Errorf("id value %d not carried", i)
				}
			}
		})
	}
}
