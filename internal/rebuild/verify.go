package rebuild

// Verification, and why it holds under live writes.
//
// A generation is right when every document the state gives is in it with
// the content the state gives, and nothing else is. Live changes keep
// arriving while it is checked, so no single instant compares both sides
// (the state and the sinks are written by different transactions, and Redis
// and Elasticsearch are not in PostgreSQL at all). Revisions make it
// decidable per document instead:
//
//   - The verification recomputes each document from the state with the
//     revision e it has now (ComputeDocs, holding the document's revision
//     row in share mode while it reads the state: whatever is computed
//     later for it gets a higher revision, from newer state). It assigns no
//     revision: checking writes nothing.
//   - A stored document is right when its content equals the recomputed one,
//     or when its stored revision is higher than e: a live write computed
//     after the recompute already replaced it (PostgreSQL compares both in
//     one statement, Elasticsearch its _source and version; Redis, whose
//     sink alone knows how it encodes a value, is checked for presence).
//   - Anything else is a suspect: a live write may be in flight (the state
//     changed, its recompute is not written yet). Suspects are recomputed
//     and checked again, with backoff, until they settle; one that is still
//     wrong after VerifyTimeout is a real mismatch — a lost write, a daemon
//     that did not write the new generation, a sink bug — and the swap is
//     refused, naming it.
//   - Documents in the new PostgreSQL table that the state has no root row
//     for are found by one anti-join in SQL and checked the same way.
//   - A view whose expressions read the clock is checked by revision alone:
//     a document stored at the revision e (or higher) is right, whatever its
//     content, which depends on when it was computed as much as on the
//     state (a refresh brings it up to the clock).
//
// The checksum recorded in the registry is an order-independent sum of the
// hashes of the documents the state gave during the pass, with their count:
// a fingerprint to compare rebuilds with, not the proof (the per-document
// comparison is).

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/sinks"
)

// maxSuspects bounds the documents kept for a second look: beyond it the
// generation is plainly wrong.
const maxSuspects = 100_000

// checker compares documents recomputed from the state with one store.
type checker interface {
	store() string
	// prepare runs before each round (Elasticsearch: refresh).
	prepare(ctx context.Context) error
	// check returns, by index in docs, why a document is wrong.
	check(ctx context.Context, docs []sinks.Doc) (map[int]string, error)
}

type suspect struct {
	key map[string]any
	why string
}

type report struct {
	verified int64
	checksum string
}

// verify checks the generation against the state: in one snapshot when
// the generation has a PostgreSQL target (snapshot.go), else by
// recomputing every document (see the top of the file).
func (r *run) verify(ctx context.Context) (report, error) {
	if x, v, pv, ok := r.snapshotPlan(); ok {
		return r.verifySnapshot(ctx, x, v, pv)
	}
	return r.verifyFull(ctx)
}

// verifyFull recomputes every document and compares it with every store.
func (r *run) verifyFull(ctx context.Context) (report, error) {
	g := &r.gen
	checkers, err := r.checkers()
	if err != nil {
		return report{}, err
	}
	for _, c := range checkers {
		if err := c.prepare(ctx); err != nil {
			return report{}, err
		}
	}
	var (
		mu       sync.Mutex
		suspects = map[string]suspect{}
		sum      atomic.Uint64
		live     atomic.Int64
	)
	note := func(docs []sinks.Doc, bad map[int]string, store string) error {
		mu.Lock()
		defer mu.Unlock()
		for i, why := range bad {
			suspects[docs[i].ID] = suspect{key: docs[i].Key, why: store + ": " + why}
		}
		if len(suspects) > maxSuspects {
			return fmt.Errorf("%w: view %s generation %d: more than %d documents differ from the state", ErrMismatch, g.View, g.Number, maxSuspects)
		}
		return nil
	}
	r.opts.Progress.Phase("verify", g.DocsTotal)
	work := func(ctx context.Context, p page) error {
		docs, err := r.env.Engine.ComputeDocs(ctx, g.View, p.ids)
		if err != nil {
			return fmt.Errorf("recompute %d documents of %s: %w", len(p.ids), g.View, err)
		}
		for i := range docs {
			if !docs[i].Deleted {
				sum.Add(docHash(&docs[i]))
				live.Add(1)
			}
		}
		for _, c := range checkers {
			bad, err := c.check(ctx, docs)
			if err != nil {
				return err
			}
			if err := note(docs, bad, c.store()); err != nil {
				return err
			}
		}
		r.opts.Progress.Add(int64(len(p.ids)))
		return nil
	}
	err = r.chunks(ctx, "", work, func(string, int64) error { return nil })
	r.opts.Progress.Done()
	if err != nil {
		return report{}, err
	}
	if g.Has(registry.StorePostgres) {
		extra, err := r.pgExtras(ctx)
		if err != nil {
			return report{}, err
		}
		for id, key := range extra {
			suspects[id] = suspect{key: key, why: "postgres: a document the state does not give"}
		}
	}
	if err := r.settle(ctx, checkers, suspects); err != nil {
		return report{}, err
	}
	return report{verified: live.Load(), checksum: fmt.Sprintf("%016x", sum.Load())}, nil
}

// settle checks the suspects again until none is left or VerifyTimeout
// passed, and reports what is still wrong as ErrMismatch.
func (r *run) settle(ctx context.Context, checkers []checker, suspects map[string]suspect) error {
	deadline := time.Now().Add(r.opts.VerifyTimeout)
	wait := 100 * time.Millisecond
	for len(suspects) > 0 && time.Now().Before(deadline) {
		// Give the live writes in flight the time to land.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
		for _, c := range checkers {
			if err := c.prepare(ctx); err != nil {
				return err
			}
		}
		ids := make([]string, 0, len(suspects))
		for id := range suspects {
			ids = append(ids, id)
		}
		still := map[string]suspect{}
		for chunk := range slices.Chunk(ids, r.opts.Chunk) {
			keys := make(map[string]map[string]any, len(chunk))
			for _, id := range chunk {
				keys[id] = suspects[id].key
			}
			docs, err := r.env.Engine.ComputeDocs(ctx, r.gen.View, keys)
			if err != nil {
				return fmt.Errorf("recompute %d documents of %s: %w", len(keys), r.gen.View, err)
			}
			for _, c := range checkers {
				bad, err := c.check(ctx, docs)
				if err != nil {
					return err
				}
				for i, why := range bad {
					still[docs[i].ID] = suspect{key: docs[i].Key, why: c.store() + ": " + why}
				}
			}
		}
		suspects = still
	}
	if len(suspects) == 0 {
		return nil
	}
	return mismatch(r.gen, suspects, r.opts.VerifyTimeout)
}

// mismatch summarises what is wrong: counts by reason, and a few ids.
func mismatch(g registry.Generation, suspects map[string]suspect, waited time.Duration) error {
	byWhy := map[string][]string{}
	for id, s := range suspects {
		byWhy[s.why] = append(byWhy[s.why], id)
	}
	whys := make([]string, 0, len(byWhy))
	for w := range byWhy {
		whys = append(whys, w)
	}
	sort.Strings(whys)
	parts := make([]string, 0, len(whys))
	for _, w := range whys {
		ids := byWhy[w]
		sort.Strings(ids)
		if len(ids) > 5 {
			ids = append(ids[:5], "…")
		}
		parts = append(parts, fmt.Sprintf("%d× %s (ids %s)", len(byWhy[w]), w, strings.Join(ids, ", ")))
	}
	return fmt.Errorf("%w: view %s generation %d: %d documents still differ from the state after %s: %s; the served generation is untouched",
		ErrMismatch, g.View, g.Number, len(suspects), waited, strings.Join(parts, "; "))
}

// docHash is the hash of a document's id and content; Marshal sorts keys,
// so equal documents hash alike.
func docHash(d *sinks.Doc) uint64 {
	b, err := json.Marshal(d.Fields)
	if err != nil {
		b = []byte(fmt.Sprint(d.Fields))
	}
	h := xxhash.New()
	_, _ = h.WriteString(d.ID)
	_, _ = h.Write([]byte{0})
	_, _ = h.Write(b)
	return h.Sum64()
}

// checkers are the comparisons for the generation's stores.
func (r *run) checkers() ([]checker, error) {
	// A view whose expressions read the clock gives other content at every
	// recompute (an age, a window's edge), whatever the state: its
	// documents are right when stored at their latest revision (byRev), as
	// whatever that computation gave.
	pv, err := r.env.View(r.gen.View)
	if err != nil {
		return nil, err
	}
	byRev := pv.ReadsClock()
	var out []checker
	for _, s := range r.gen.Stores {
		switch s {
		case registry.StorePostgres:
			c, err := newPGChecker(r.env, r.gen.View, r.gen.Number, byRev)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		case registry.StoreRedis:
			if c := newRedisChecker(r.env, r.gen.View, byRev); c != nil {
				out = append(out, c)
			}
		case registry.StoreElasticsearch:
			out = append(out, &esChecker{es: r.env.esAdmin, index: r.gen.Targets[registry.StoreElasticsearch], byRev: byRev})
		}
	}
	return out, nil
}
