package config

import (
	"runtime"
	"strings"
	"testing"
)

// TestR32jDeepMappingObjectMemory: an Elasticsearch mapping object is
// decoded node by node (decodeObject, anyValue), and each level copies
// the whole path of keys leading to it (appendPath) and keeps it while
// its children are decoded: memory grows as the square of the depth.
// yaml.v3 lets a flow list nest 10,000 deep, so one line of 18 KB under
// mappings: makes Parse allocate over 800 MB (2 s), all of it live at the
// deepest point, and a file may hold many such lines. Decoding the
// same nodes anywhere else costs next to nothing.
func TestR32jDeepMappingObjectMemory(t *testing.T) {
	const depth = 5000
	file := `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://localhost/shop" } }
sources:
  orders: { topic: shop.public.orders, key: id }
views:
  order_view:
    from: orders
    fields: { id: id }
    sinks: { elasticsearch: { mappings: { id: { type: keyword, meta: ` +
		strings.Repeat("[", depth) + strings.Repeat("]", depth) + ` } } } }
`
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, _ = Parse("p.yaml", []byte(file), func(string) (string, bool) { return "", false })
	runtime.ReadMemStats(&after)
	const limit = 64 << 20
	if got := after.TotalAlloc - before.TotalAlloc; got > limit {
		t.Errorf("Parse of a %d KB file with a list nested %d deep in a mapping object allocated %d MB; want at most %d MB",
			len(file)>>10, depth, got>>20, limit>>20)
	}
}
