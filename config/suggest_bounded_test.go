package config

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// fullEditDistance is editDistance with no bound: the whole table.
func fullEditDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// editDistance stops past its bound, but only there: within it, the count
// is exact, and past it, over it.
func TestEditDistanceWithinABound(t *testing.T) {
	r := rand.New(rand.NewPCG(36, 4))
	word := func() string {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = "abcd_"[r.IntN(5)]
		}
		return string(b)
	}
	for range 20000 {
		a, b, bound := word(), word(), 1+r.IntN(5)
		want, got := fullEditDistance(a, b), editDistance(a, b, bound)
		if want <= bound && got != want || want > bound && got <= bound {
			t.Fatalf("editDistance(%q, %q, %d) = %d; the distance is %d", a, b, bound, got, want)
		}
	}
}

// Of the names closest to a slip, Suggest gives the first in sorted order,
// whatever order the names come in, and leaves the list as it was.
func TestSuggestTiesGoToTheFirstSorted(t *testing.T) {
	names := []string{"status", "total", "stratus", "statue", "id"}
	for range 10 {
		rand.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
		before := slices.Clone(names)
		if got := Suggest("statu", names); got != "statue" {
			t.Errorf("Suggest(statu, %v) = %q, want statue (status is as close, sorted after)", before, got)
		}
		if !slices.Equal(names, before) {
			t.Errorf("Suggest reordered %v into %v", before, names)
		}
	}
	if got := Suggest("qqqqqq", names); got != "" {
		t.Errorf("Suggest(qqqqqq) = %q, want none", got)
	}
}
