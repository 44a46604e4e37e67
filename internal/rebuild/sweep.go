package rebuild

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks/redis"
)

// sweep removes the live Redis keys the new generation did not write: the
// documents the engine ever computed for the view (projector.revs) whose
// root row the state no longer has. Redis has no generations, so these are
// what the fill cannot overwrite — a document whose source row was deleted
// while its delete never reached the store, or a key left by an earlier
// projection. Each is recomputed (a new revision, under its lock) and
// written: a document deleted meanwhile is deleted through the sink's own
// rev-guarded path, and one created again meanwhile is written, not lost.
// The keys of documents whose revisions are gone (collected past
// state.tombstone_retention) are found by SCAN (sweepUnrecorded).
//
// Keys written under another key template are purged by sweepTemplates;
// keys no template of a view could give are left alone.
func (r *run) sweep(ctx context.Context) error {
	pv, err := r.env.View(r.gen.View)
	if err != nil {
		return err
	}
	phase := &sweepPhase{progress: r.opts.Progress}
	if err := r.sweepRecorded(ctx, pv, phase); err != nil {
		return err
	}
	if err := r.sweepUnrecorded(ctx, pv, phase); err != nil {
		return err
	}
	phase.done()
	return nil
}

// sweepPhase reports the sweep as one phase, begun with its first chunk.
type sweepPhase struct {
	progress Progress
	started  bool
}

func (p *sweepPhase) start() {
	if !p.started {
		p.started = true
		p.progress.Phase("sweep", 0) // how many is known only at the end
	}
}

func (p *sweepPhase) done() {
	if p.started {
		p.progress.Done()
	}
}

// sweepRecorded sweeps the documents projector.revs knows whose root row
// the state no longer has.
func (r *run) sweepRecorded(ctx context.Context, pv *projections.View, phase *sweepPhase) error {
	cols := make([]string, len(pv.IDColumns))
	for i, c := range pv.IDColumns {
		cols[i] = "s.data->>" + quoteLiteral(c)
	}
	match := cols[0] + " = v.doc_id"
	if len(cols) > 1 {
		// The engine writes several id values as a JSON array.
		match = "jsonb_build_array(" + strings.Join(cols, ", ") + ") = v.doc_id::jsonb"
	}
	// The ids stream in and are swept a chunk at a time: the revisions of
	// every document deleted within state.tombstone_retention are among
	// them, which may be millions.
	rows, err := r.env.Pool.Query(ctx, `SELECT v.doc_id FROM `+pgx.Identifier{r.env.Registry.Schema(), "revs"}.Sanitize()+` v
		WHERE v.view = $1 AND NOT EXISTS (SELECT 1 FROM `+r.stateTable(pv)+` s WHERE NOT s.deleted AND `+match+`)`, r.gen.View)
	if err != nil {
		return fmt.Errorf("sweep %s: list documents without a root row: %w", r.gen.View, err)
	}
	defer rows.Close()
	chunk := make([]string, 0, r.opts.Chunk)
	flush := func() error {
		phase.start()
		err := r.sweepChunk(ctx, pv, chunk)
		chunk = chunk[:0]
		return err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		if chunk = append(chunk, id); len(chunk) == cap(chunk) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sweep %s: %w", r.gen.View, err)
	}
	if len(chunk) > 0 {
		return flush()
	}
	return nil
}

// sweepChunk deletes the Redis keys of the documents ids (whose root rows
// are gone) that still exist: recomputed, they come out as deletions.
func (r *run) sweepChunk(ctx context.Context, pv *projections.View, chunk []string) error {
	route := []projector.Route{{Sink: r.env.live, Views: []string{r.gen.View}}}
	keys := make(map[string]map[string]any, len(chunk))
	redisKeys := make([]string, 0, len(chunk))
	for _, id := range chunk {
		key, err := parseDocID(pv.ID, id)
		if err != nil {
			return fmt.Errorf("sweep %s: %w", r.gen.View, err)
		}
		rk, err := r.env.live.Key(r.gen.View, key)
		if err != nil {
			return fmt.Errorf("sweep %s: %w", r.gen.View, err)
		}
		keys[id] = key
		redisKeys = append(redisKeys, rk)
	}
	// A doc whose key is gone may still be in index sets (written while
	// the view had indexes, deleted while it had none): its membership
	// key says so, and its recomputed deletion takes it out of them.
	exists, err := existing(ctx, r.env.Redis, redisKeys, r.env.live.MembershipKey)
	if err != nil {
		return fmt.Errorf("sweep %s: %w", r.gen.View, err)
	}
	for i, id := range chunk {
		if !exists[i] {
			delete(keys, id)
		}
	}
	if len(keys) > 0 {
		docs, err := r.env.Engine.RecomputeDocs(ctx, r.gen.View, keys)
		if err != nil {
			return fmt.Errorf("sweep %s: %w", r.gen.View, err)
		}
		if err := r.env.Engine.WriteDocs(ctx, route, docs); err != nil {
			return fmt.Errorf("sweep %s: %w", r.gen.View, err)
		}
		r.res.Swept += int64(len(docs))
	}
	r.opts.Progress.Add(int64(len(chunk)))
	return nil
}

// redisTemplates is the key template of every view with Redis keys (view
// → template), nil without Redis.
func (e *Env) redisTemplates() map[string]string {
	if e.live == nil {
		return nil
	}
	templates := map[string]string{}
	for _, v := range stack.RedisViews(e.Plan) {
		templates[v.Name] = v.Key
	}
	return templates
}

// noteRedisTemplates records the key template of every view with Redis
// keys, so that a rebuild after the template changed finds the old keys.
// A rebuild notes them when it starts; a daemon with every heartbeat
// (Registry.Heartbeat).
func (e *Env) noteRedisTemplates(ctx context.Context) error {
	return e.Registry.NoteRedisTemplates(ctx, e.redisTemplates())
}

// sweepTemplates purges the keys the view's documents had under key
// templates it no longer has (its key changed): every document the engine
// ever computed for the view (projector.revs) under each old template. A
// key the current template of any view could also give is left alone: it
// may be another document's.
//
// A purged template is forgotten only when nobody may still write with
// it: no live instance wrote with it when the purge began (a daemon still
// running the old configuration), and nobody noted it since (a daemon
// started meanwhile). Otherwise it stays recorded, and a later rebuild,
// once the daemons run the new configuration, purges what they wrote after
// this purge passed.
func (r *run) sweepTemplates(ctx context.Context) error {
	pv, err := r.env.View(r.gen.View)
	if err != nil {
		return err
	}
	var current string
	for _, v := range stack.RedisViews(r.env.Plan) {
		if v.Name == r.gen.View {
			current = v.Key
		}
	}
	templates, err := r.env.Registry.RedisTemplates(ctx, r.gen.View)
	if err != nil {
		return err
	}
	// A key any view's current template could give may be a live
	// document's: it is never purged.
	var matchers []func(string) bool
	for _, v := range stack.RedisViews(r.env.Plan) {
		m, err := redis.MatcherOf(v.Key, keyShapes(r.env.Plan.View(v.Name)))
		if err != nil {
			return err
		}
		matchers = append(matchers, m)
	}
	ours := func(key string) bool {
		return slices.ContainsFunc(matchers, func(m func(string) bool) bool { return m(key) })
	}
	for _, old := range templates {
		if old == current {
			continue
		}
		// Looked before the purge: an instance that writes with the
		// template after this either heartbeated before (in use) or notes
		// it after (since), see Registry.Heartbeat.
		inUse, since, err := r.env.Registry.RedisTemplateInUse(ctx, r.gen.View, old, InstanceTTL)
		if err != nil {
			return err
		}
		n, err := r.purgeTemplate(ctx, pv.ID, old, ours)
		if err != nil {
			return fmt.Errorf("sweep %s: keys of the old template %q: %w", r.gen.View, old, err)
		}
		r.res.Swept += n
		if r.opts.afterPurge != nil {
			if err := r.opts.afterPurge(ctx, old); err != nil {
				return err
			}
		}
		forgot := false
		if !inUse {
			if forgot, err = r.env.Registry.ForgetRedisTemplate(ctx, r.gen.View, old, since); err != nil {
				return err
			}
		}
		if forgot {
			r.opts.Log.Info("purged the keys of an old key template", "view", r.gen.View, "template", old, "keys", n)
		} else {
			r.opts.Log.Warn("purged the keys of an old key template that daemons still write; it stays recorded: rebuild again once every daemon runs the new configuration",
				"view", r.gen.View, "template", old, "keys", n)
		}
	}
	return nil
}

// purgeTemplate deletes the keys template gives the view's documents. The
// ids are read in pages, keyset over the revisions' primary key: a view
// of millions of documents is never held in memory at once.
func (r *run) purgeTemplate(ctx context.Context, idFields []string, template string, ours func(string) bool) (int64, error) {
	var n int64
	var after *string // nil: from the first id
	for {
		ids, err := r.revIDsAfter(ctx, after, 10*r.opts.Chunk)
		if err != nil || len(ids) == 0 {
			return n, err
		}
		after = &ids[len(ids)-1]
		purged, err := r.purgeKeys(ctx, idFields, template, ours, ids)
		n += purged
		if err != nil {
			return n, err
		}
	}
}

// revIDsAfter lists, in order, up to limit ids of the view's documents
// (those the engine ever computed) that sort after the id after (nil: from
// the first).
func (r *run) revIDsAfter(ctx context.Context, after *string, limit int) ([]string, error) {
	q := `SELECT doc_id FROM ` + pgx.Identifier{r.env.Registry.Schema(), "revs"}.Sanitize() + ` WHERE view = $1`
	args := []any{r.gen.View, limit}
	if after != nil {
		q += ` AND doc_id > $3`
		args = append(args, *after)
	}
	rows, err := r.env.Pool.Query(ctx, q+` ORDER BY doc_id LIMIT $2`, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// purgeKeys deletes the keys template gives the documents ids, except
// those a current template may give, and counts them.
func (r *run) purgeKeys(ctx context.Context, idFields []string, template string, ours func(string) bool, ids []string) (int64, error) {
	var keys, currents, members []string
	for _, id := range ids {
		key, err := parseDocID(idFields, id)
		if err != nil {
			return 0, err
		}
		k, err := redis.KeyFor(template, key)
		if err != nil || ours(k) {
			continue // a template without this field, or a key a current template may give
		}
		now, err := r.env.live.Key(r.gen.View, key)
		if err != nil {
			return 0, err
		}
		keys, currents, members = append(keys, k), append(currents, now), append(members, id)
	}
	if err := r.env.live.Purge(ctx, keys, currents, members); err != nil {
		return 0, err
	}
	return int64(len(keys)), nil
}

// parseDocID turns a document id back into its key: the id is the text of
// a single value, or a JSON array of the texts of several.
func parseDocID(fields []string, id string) (map[string]any, error) {
	if len(fields) == 1 {
		return map[string]any{fields[0]: id}, nil
	}
	var parts []string
	if err := json.Unmarshal([]byte(id), &parts); err != nil || len(parts) != len(fields) {
		return nil, fmt.Errorf("document id %q is not an array of %d values", id, len(fields))
	}
	key := make(map[string]any, len(fields))
	for i, f := range fields {
		key[f] = parts[i]
	}
	return key, nil
}

func existing(ctx context.Context, rdb goredis.UniversalClient, keys []string, also ...func(string) string) ([]bool, error) {
	cmds := make([]*goredis.IntCmd, len(keys))
	_, err := rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range keys {
			ks := []string{k}
			for _, f := range also {
				ks = append(ks, f(k)) // in k's slot (a hash tag of k)
			}
			cmds[i] = p.Exists(ctx, ks...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(keys))
	for i, c := range cmds {
		out[i] = c.Val() > 0
	}
	return out, nil
}

// keyShapes are what the text of a view's fields can look like in a key,
// where their type says (the engine writes an integer as its digits): a
// key of an old template is spared only when the current one could give
// it, and item:{id} over a bigint id cannot give item:v1:5.
func keyShapes(v *projections.View) map[string]string {
	shapes := map[string]string{}
	if v == nil {
		return shapes
	}
	for _, f := range v.Fields {
		if f.Type.Array {
			continue
		}
		switch f.Type.Name {
		case "smallint", "integer", "bigint":
			shapes[f.Name] = `-?[0-9]+`
		case "numeric", "real", "double precision":
			shapes[f.Name] = `-?[0-9]+(?:\.[0-9]+)?|NaN|-?Infinity`
		case "boolean":
			shapes[f.Name] = `true|false`
		case "uuid":
			shapes[f.Name] = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`
		}
	}
	return shapes
}
