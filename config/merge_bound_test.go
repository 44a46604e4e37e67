package config_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
)

// mergeBomb is a configuration whose kafka mapping merges one anchored
// mapping of k keys n times (<<: [*m0, *m0, ...]), on line k+5.
func mergeBomb(k, n int) []byte {
	var b strings.Builder
	b.WriteString("version: 1\nx-keys: &m0\n")
	for i := range k {
		fmt.Fprintf(&b, "  k%d: 1\n", i)
	}
	b.WriteString("kafka:\n  brokers: localhost:9092\n  <<: [")
	b.WriteString(strings.TrimSuffix(strings.Repeat("*m0,", n), ","))
	b.WriteString("]\n")
	b.WriteString(`stores: { postgres: { url: "postgres://localhost/shop" } }
sources:
  orders: { topic: shop.public.orders, key: id, columns: { id: bigint } }
views:
  v: { from: orders, fields: { id: id }, sinks: { postgres: {} } }
`)
	return []byte(b.String())
}

// TestMergeKeyBomb: every key a merge copies counts against the decoder's
// node bound, so a mapping merged over and over is refused as too large,
// at the merge, instead of being copied k*n times.
func TestMergeKeyBomb(t *testing.T) {
	const tooLarge = "too large after expanding aliases"
	tests := []struct {
		name    string
		k, n    int
		refused bool
	}{
		{name: "1.5 million merged pairs from 30 KB", k: 300, n: 5000, refused: true},
		{name: "a few merges", k: 10, n: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := mergeBomb(tt.k, tt.n)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := config.ParseDraftWith("bomb.yml", data, func(string) (string, bool) { return "", false }, config.Options{Offline: true})
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("a %d-byte configuration allocated %d MB while decoding", len(data), alloc>>20)
			}
			var errs config.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v, want config.Errors", err)
			}
			var found *config.Error
			for i := range errs {
				if strings.Contains(errs[i].Msg, tooLarge) {
					found = &errs[i]
				}
			}
			switch {
			case !tt.refused && found != nil:
				t.Errorf("refused: %v", found)
			case tt.refused && found == nil:
				t.Errorf("not refused as %q: %.300v", tooLarge, err)
			case tt.refused && (found.Pos.File != "bomb.yml" || found.Pos.Line != tt.k+5):
				t.Errorf("refused at %v, want the merge at bomb.yml:%d", found.Pos, tt.k+5)
			}
		})
	}
}
