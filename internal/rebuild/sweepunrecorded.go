package rebuild

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/redisconn"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks/redis"
)

// sweepUnrecorded sweeps the view's Redis keys whose documents have no
// revision, which sweepRecorded cannot find: a Redis restored from a
// snapshot older than state.tombstone_retention holds documents deleted
// since, whose revisions the tombstone collection removed. The view's keys
// are found by SCAN (on every master of a cluster), read back into their
// ids, and those without a revision are swept as sweepRecorded sweeps
// (recomputed with a new revision under their lock: a document created
// meanwhile is written, not lost). Every live document has its revision,
// so only the revisions' primary key is looked up, a page of keys at a
// time.
//
// A key is left alone when whose it is cannot be told: one another
// template could give too (another view's, an index's, or an old key
// template still recorded, whose keys sweepTemplates purges), or one the
// view's template gives two documents (see redis.KeyReader).
func (r *run) sweepUnrecorded(ctx context.Context, pv *projections.View, phase *sweepPhase) error {
	template, ok := r.redisTemplate()
	if !ok || r.env.Redis == nil {
		return nil
	}
	pattern, err := redis.ScanPattern(template)
	if err != nil {
		return err
	}
	read, err := redis.KeyReader(template, keyShapes(r.env.Plan.View(r.gen.View)))
	if err != nil {
		return err
	}
	foreign, err := r.foreignKeys(ctx)
	if err != nil {
		return err
	}
	s := &unrecordedSweep{run: r, pv: pv, phase: phase, page: make([]string, 0, 10*r.opts.Chunk)}
	err = redisconn.Scan(ctx, r.env.Redis, pattern, func(ctx context.Context, _ *goredis.Client, key string) error {
		if foreign(key) {
			return nil
		}
		values, ok := read(key)
		if !ok {
			return s.unread()
		}
		id, ok := docIDOf(pv, values)
		if !ok {
			return s.unread()
		}
		return s.add(ctx, id)
	})
	if err == nil {
		err = s.flush(ctx)
	}
	if err != nil {
		return fmt.Errorf("sweep %s: keys without a revision: %w", r.gen.View, err)
	}
	if s.ambiguous > 0 {
		r.opts.Log.Warn("sweep: left alone keys the view's key template gives several documents (a placeholder's value holds the text after it): delete by hand those whose rows are gone",
			"view", r.gen.View, "template", template, "keys", s.ambiguous)
	}
	return nil
}

// unrecordedSweep gathers the ids of the keys a SCAN finds, from one
// goroutine per master, and sweeps them a page at a time: memory stays
// bounded however many keys the view has.
type unrecordedSweep struct {
	run   *run
	pv    *projections.View
	phase *sweepPhase

	mu        sync.Mutex
	page      []string
	ambiguous int
	failed    error // the masters' scans stop at the first
}

func (s *unrecordedSweep) unread() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ambiguous++
	return s.failed
}

func (s *unrecordedSweep) add(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return s.failed
	}
	if s.page = append(s.page, id); len(s.page) < cap(s.page) {
		return nil
	}
	s.failed = s.sweepPage(ctx)
	return s.failed
}

func (s *unrecordedSweep) flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed == nil {
		s.failed = s.sweepPage(ctx)
	}
	return s.failed
}

// sweepPage sweeps the page's ids that have no revision, a chunk at a
// time; s.mu is held.
func (s *unrecordedSweep) sweepPage(ctx context.Context) error {
	if len(s.page) == 0 {
		return nil
	}
	ids, err := s.run.unrecorded(ctx, s.page)
	s.page = s.page[:0]
	if err != nil {
		return err
	}
	for chunk := range slices.Chunk(ids, s.run.opts.Chunk) {
		s.phase.start()
		if err := s.run.sweepChunk(ctx, s.pv, chunk); err != nil {
			return err
		}
	}
	return nil
}

// unrecorded are the distinct ids among ids that no revision of the view
// knows.
func (r *run) unrecorded(ctx context.Context, ids []string) ([]string, error) {
	rows, err := r.env.Pool.Query(ctx, `SELECT DISTINCT k.id FROM unnest($2::text[]) k (id)
		WHERE NOT EXISTS (SELECT 1 FROM `+pgx.Identifier{r.env.Registry.Schema(), "revs"}.Sanitize()+` v
			WHERE v.view = $1 AND v.doc_id = k.id)`, r.gen.View, ids)
	if err != nil {
		return nil, fmt.Errorf("look up revisions: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// redisTemplate is the view's current Redis key template.
func (r *run) redisTemplate() (string, bool) {
	for _, v := range stack.RedisViews(r.env.Plan) {
		if v.Name == r.gen.View {
			return v.Key, true
		}
	}
	return "", false
}

// foreignKeys reports whether a key may be another's than a document's of
// the view's current template: one another view's key template or any
// view's index template could give, or a template recorded for any view
// but the view's current one (an old template of this view or another).
// Configuration validation refuses two current templates that could give
// one key, not a current and an old one.
func (r *run) foreignKeys(ctx context.Context) (func(key string) bool, error) {
	var matchers []func(string) bool
	add := func(template string, shapes map[string]string) error {
		m, err := redis.MatcherOf(template, shapes)
		if err != nil {
			return err
		}
		matchers = append(matchers, m)
		return nil
	}
	for _, v := range stack.RedisViews(r.env.Plan) {
		shapes := keyShapes(r.env.Plan.View(v.Name))
		recorded, err := r.env.Registry.RedisTemplates(ctx, v.Name)
		if err != nil {
			return nil, err
		}
		for _, t := range append(recorded, v.Key) {
			if v.Name == r.gen.View && t == v.Key {
				continue
			}
			if err := add(t, shapes); err != nil {
				return nil, err
			}
		}
		for _, ix := range v.Indexes {
			if err := add(ix.Key, nil); err != nil {
				return nil, err
			}
		}
	}
	return func(key string) bool {
		return slices.ContainsFunc(matchers, func(m func(string) bool) bool { return m(key) })
	}, nil
}

// docIDOf is the id of the document whose key holds values (placeholder →
// text) as the engine writes it (the text of one id value, a JSON array of
// those of several; see parseDocID), and whether the key holds every id
// value: a field the template leaves out has the value of the id field of
// the same column it names.
func docIDOf(pv *projections.View, values map[string]string) (string, bool) {
	parts := make([]string, len(pv.ID))
	for i, f := range pv.ID {
		v, ok := values[f]
		for j := 0; !ok && j < len(pv.ID) && len(pv.IDColumns) == len(pv.ID); j++ {
			if pv.IDColumns[j] == pv.IDColumns[i] {
				v, ok = values[pv.ID[j]]
			}
		}
		if !ok {
			return "", false
		}
		parts[i] = v
	}
	if len(parts) == 1 {
		return parts[0], true
	}
	b, err := json.Marshal(parts)
	return string(b), err == nil
}
