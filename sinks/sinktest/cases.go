package sinktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/projectorhq/projector/sinks"
)

var cases = []testCase{
	{"create", "create", func(t *testing.T, e *env) {
		e.write(e.upsert(1, 1))
		e.expect(1, content(1, 1))
	}},
	{"empty batch", "empty", func(t *testing.T, e *env) {
		e.write()
	}},
	{"update with higher rev replaces", "update", func(t *testing.T, e *env) {
		e.write(e.upsert(1, 1)) // odd rev: note set
		e.write(e.upsert(1, 2)) // even rev: note null
		e.expect(1, content(1, 2))
	}},
	{"stale rev ignored", "stale", func(t *testing.T, e *env) {
		e.write(e.upsert(1, 5))
		before, counted := e.stale()
		e.write(e.upsert(1, 3))
		e.expect(1, content(1, 5))
		if after, _ := e.stale(); counted && after != before+1 {
			t.Errorf("Stale() went from %d to %d, want one more", before, after)
		}
	}},
	{"equal rev ignored", "equal", func(t *testing.T, e *env) {
		e.write(e.upsert(1, 2))
		e.write(e.doc(1, 2, content(1, 3)))
		e.expect(1, content(1, 2))
	}},
	{"delete", "delete", func(t *testing.T, e *env) {
		e.write(e.upsert(1, 1), e.upsert(2, 1))
		e.write(e.deletion(1, 2))
		e.expect(1, nil)
		e.expect(2, content(2, 1))
	}},
	{"stale delete ignored", "stale_delete", func(t *testing.T, e *env) {
		e.write(e.upsert(1, 4))
		e.write(e.deletion(1, 3))
		e.expect(1, content(1, 4))
	}},
	{"stale upsert after delete does not resurrect", "no_resurrect", func(t *testing.T, e *env) {
		e.write(e.upsert(1, 1))
		e.write(e.deletion(1, 3))
		e.write(e.upsert(1, 2))
		e.expect(1, nil)
	}},
	{"delete of an unseen doc blocks older upserts", "delete_first", func(t *testing.T, e *env) {
		e.write(e.deletion(1, 5))
		e.write(e.upsert(1, 4))
		e.expect(1, nil)
		e.write(e.upsert(1, 6))
		e.expect(1, content(1, 6))
	}},
	{"higher rev after delete recreates", "recreate", func(t *testing.T, e *env) {
		e.write(e.upsert(1, 1))
		e.write(e.deletion(1, 2))
		e.write(e.upsert(1, 3))
		e.expect(1, content(1, 3))
	}},
	{"same id several times in one batch", "duplicates", testDuplicates},
	{"batch of 5000 docs", "large", testLarge},
	{"unicode and quotes", "unicode", testUnicode},
	{"every JSON-natural type", "types", testTypes},
	{"concurrent writers converge", "concurrent", testConcurrent},
	{"unknown view fails only its doc", "partial", testUnknownView},
	{"values JSON cannot hold fail only their doc", "unencodable", testUnencodable},
}

// testDuplicates writes every rev of several docs in one shuffled batch; for
// some docs the highest rev is a delete.
func testDuplicates(t *testing.T, e *env) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 5 {
		var docs []sinks.Doc
		top := map[int64]int64{}
		for id := int64(1); id <= 10; id++ {
			top[id] = 3 + (id+int64(round))%5
			for rev := int64(1); rev <= top[id]; rev++ {
				docs = append(docs, e.upsertOrDelete(id, rev+int64(round)*10))
			}
		}
		rng.Shuffle(len(docs), func(i, j int) { docs[i], docs[j] = docs[j], docs[i] })
		e.write(docs...)
		for id := int64(1); id <= 10; id++ {
			e.expect(id, e.want(id, top[id]+int64(round)*10))
		}
	}
}

// upsertOrDelete is a delete for some (id, rev) pairs and an upsert for the
// others, so that workloads mix both; want says what reads back after it.
func (e *env) upsertOrDelete(id, rev int64) sinks.Doc {
	if isDelete(id, rev) {
		return e.deletion(id, rev)
	}
	return e.upsert(id, rev)
}

func (e *env) want(id, rev int64) map[string]any {
	if isDelete(id, rev) {
		return nil
	}
	return content(id, rev)
}

func isDelete(id, rev int64) bool { return (id+rev)%7 == 0 }

func testLarge(t *testing.T, e *env) {
	const n = 5000
	docs := make([]sinks.Doc, 0, n)
	for id := int64(1); id <= n; id++ {
		docs = append(docs, e.upsert(id, 1))
	}
	e.write(docs...)
	docs = docs[:0]
	for id := int64(1); id <= n; id++ {
		docs = append(docs, e.upsertOrDelete(id, 2))
	}
	e.write(docs...)
	for id := int64(1); id <= n; id++ {
		e.expect(id, e.want(id, 2))
	}
}

func testUnicode(t *testing.T, e *env) {
	values := []string{
		`"double" 'single' \back\slash`,
		`'); DROP TABLE x; --`,
		"Ünïcödé 你好 🚀 \u2028\u2029 tab\tnewline\n",
		`{"not":"json object, a string"}`,
		`{id}:*?[a]`,
		"",
	}
	for i, s := range values {
		id := int64(i + 1)
		f := content(id, 1)
		f["name"], f["note"] = s, s
		f["attrs"] = map[string]any{s: s, "k": []any{s}}
		e.write(e.doc(id, 1, f))
		e.expect(id, f)
	}
}

func testTypes(t *testing.T, e *env) {
	f := map[string]any{
		"id":     json.Number("1"),
		"name":   "every type",
		"amount": "12345678901234567890.12",
		"qty":    json.Number("9223372036854775807"),
		"active": true,
		"attrs": map[string]any{
			"nested": map[string]any{"deep": []any{json.Number("1"), "two", false, nil, map[string]any{}}},
			"null":   nil, "bool": false, "num": json.Number("-12.5"), "big": json.Number("9223372036854775807"),
		},
		"tags": []any{json.Number("1"), "a", true, nil, []any{json.Number("2")}, map[string]any{"x": "y"}},
		"note": nil,
	}
	e.write(e.doc(1, 1, f))
	e.expect(1, f)
}

// testConcurrent has several writers send interleaved revs of the same docs
// in shuffled batches, as several engine instances would during a
// rebalance; whatever the interleaving, the highest rev must win.
func testConcurrent(t *testing.T, e *env) {
	const writers, ids = 4, 20
	top := func(id int64) int64 { return 30 + id%10 }
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var docs []sinks.Doc
			for id := int64(1); id <= ids; id++ {
				for rev := int64(1 + w); rev <= top(id); rev += writers {
					docs = append(docs, e.upsertOrDelete(id, rev))
				}
			}
			rng.Shuffle(len(docs), func(i, j int) { docs[i], docs[j] = docs[j], docs[i] })
			for len(docs) > 0 {
				n := min(len(docs), 1+rng.IntN(15))
				if err := writeRetrying(e, docs[:n]); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
				docs = docs[n:]
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for id := int64(1); id <= ids; id++ {
		e.expect(id, e.want(id, top(id)))
	}
}

// writeRetrying retries a batch that failed as a whole, as the engine does
// (a store may abort one of two racing transactions); a partial failure is
// a real failure here since every doc is valid.
func writeRetrying(e *env, docs []sinks.Doc) error {
	var err error
	for range 10 {
		err = e.sink.Write(e.ctx(), docs)
		var be *sinks.BatchError
		if err == nil || errors.As(err, &be) || e.ctx().Err() != nil {
			return err
		}
	}
	return err
}

func testUnknownView(t *testing.T, e *env) {
	unknown := e.upsert(2, 1)
	unknown.View = e.view + "_missing"
	err := e.sink.Write(e.ctx(), []sinks.Doc{e.upsert(1, 1), unknown, e.upsert(3, 1)})
	var be *sinks.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("Write: %v, want a *sinks.BatchError", err)
	}
	if len(be.Failed) != 1 || be.Failed[1] == nil {
		t.Fatalf("Failed = %v, want exactly index 1", be.Failed)
	}
	e.expect(1, content(1, 1))
	e.expect(3, content(3, 1))
}

// testUnencodable hands the sink values no JSON can hold; each must fail
// its own doc, not panic and not fail the batch.
func testUnencodable(t *testing.T, e *env) {
	cycle := map[string]any{}
	cycle["self"] = cycle
	bad := []any{func() {}, make(chan int), math.NaN(), math.Inf(1), cycle, json.Number("12abc")}
	docs := []sinks.Doc{e.upsert(1, 1)}
	for i, v := range bad {
		f := content(int64(i+2), 1)
		f["attrs"] = map[string]any{"bad": v}
		docs = append(docs, e.doc(int64(i+2), 1, f))
	}
	docs = append(docs, e.upsert(100, 1))
	err := e.sink.Write(e.ctx(), docs)
	var be *sinks.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("Write: %v, want a *sinks.BatchError", err)
	}
	if len(be.Failed) != len(bad) || be.Failed[0] != nil || be.Failed[len(docs)-1] != nil {
		t.Fatalf("Failed = %v, want exactly indexes 1..%d", be.Failed, len(bad))
	}
	e.expect(1, content(1, 1))
	e.expect(100, content(100, 1))
}
