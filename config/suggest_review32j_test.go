package config

import (
	"runtime"
	"strings"
	"testing"
)

// TestR32jSuggestMemoryIsBounded: Suggest (the "did you mean" of unknown
// keys and, through package projections, of unknown columns) computes a
// full (len(a)+1)×(len(b)+1) edit-distance table, so its memory grows as
// the product of the two names' lengths. Column names are not bounded in
// length: a 24 KB configuration declaring a column of 12,000 characters
// and reading one of 12,001 makes `projector validate` take 1.2 GB; a
// 60 KB one, over 20 GB: the process is killed instead of reporting a
// file:line:col. Names that long are never a typo of each other worth
// suggesting, and the distance needs two rows of the table, not all of it.
func TestR32jSuggestMemoryIsBounded(t *testing.T) {
	long := strings.Repeat("a", 4000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	Suggest(long+"b", []string{long})
	runtime.ReadMemStats(&after)
	const limit = 8 << 20
	if got := after.TotalAlloc - before.TotalAlloc; got > limit {
		t.Errorf("Suggest on two names of 4,000 characters allocated %d MB; want at most %d MB (it grows with the product of their lengths)", got>>20, limit>>20)
	}
}
