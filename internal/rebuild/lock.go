package rebuild

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/projections"
)

// PickStores checks the stores a rebuild of view is asked for (nil: all of
// them) against those the view is written to, and returns them in the
// fixed order of Stores. A name that is no store, a store the view has no
// sink in, and one whose URL the configuration leaves empty (its sinks are
// off) are each refused with what to do instead.
func (e *Env) PickStores(view string, want []string) ([]string, error) {
	return pickStores(e.Plan, view, e.Stores(view), want)
}

// storeNames are the stores, in the order Stores lists them.
var storeNames = []string{registry.StorePostgres, registry.StoreRedis, registry.StoreElasticsearch}

// declares reports whether the view has a sink in store.
func declares(v *projections.View, store string) bool {
	switch store {
	case registry.StorePostgres:
		return v.Sinks.Postgres != nil
	case registry.StoreRedis:
		return v.Sinks.Redis != nil
	case registry.StoreElasticsearch:
		return v.Sinks.Elasticsearch != nil
	}
	return false
}

// declared lists the stores the view has a sink in, configured or not.
func declared(v *projections.View) []string {
	var out []string
	for _, s := range storeNames {
		if declares(v, s) {
			out = append(out, s)
		}
	}
	return out
}

// storeURLVar is the variable the example configuration reads a store's
// URL from.
func storeURLVar(store string) string {
	return "PROJECTOR_" + strings.ToUpper(store) + "_URL"
}

func orNone(stores []string) string {
	if len(stores) == 0 {
		return "none"
	}
	return strings.Join(stores, ", ")
}

// lockView takes a session lock on the view for as long as this process
// rebuilds it; the lock goes with the connection if the process dies. A
// process that just died may hold it a moment longer (its backend exits
// after the socket closes), so a busy lock is tried again for a while.
//
// A rebuild that reads the view's sources again (sharing) also takes the
// locks of the other views that read them, for as long as it runs.
// Meanwhile the rebuild applies the sources' changes to every view that
// reads them, through the routes of the moment it started: a rebuild of
// one of those views swapping or dropping its generations, or a daemon
// dropping an expired one, would leave the changes in a retired table or
// writing to a dropped one. Those wait for the locks instead. All the
// locks are taken in name order, the view's own among them: two rebuilds
// of views sharing a source, started together, would each hold its own
// and wait for the other's, and both be refused.
func (e *Env) lockView(ctx context.Context, view string, sharing bool) (func(), error) {
	names := []string{view}
	if sharing {
		others, err := e.sharingViews(view)
		if err != nil {
			return nil, err
		}
		names = append(names, others...)
		slices.Sort(names)
	}
	var releases []func()
	release := func() {
		for _, r := range slices.Backward(releases) {
			r()
		}
	}
	for _, name := range names {
		r, ok, err := e.takeViewLock(ctx, name, 2*time.Second)
		if err != nil {
			release()
			return nil, err
		}
		if !ok {
			release()
			if name == view {
				return nil, fmt.Errorf("%w: another process is rebuilding view %s right now", ErrInProgress, view)
			}
			return nil, fmt.Errorf("%w: view %s, which reads a source this rebuild of %s reads again, is being rebuilt by another process right now; "+
				"rebuild %s once it ends", ErrInProgress, name, view, view)
		}
		releases = append(releases, r)
	}
	return release, nil
}

// sharingViews names the other views that read a source the view reads.
func (e *Env) sharingViews(view string) ([]string, error) {
	v, err := e.View(view)
	if err != nil {
		return nil, err
	}
	ours := viewTopics(v)
	var out []string
	for _, other := range e.Plan.Views {
		if other.Name != view && slices.ContainsFunc(viewTopics(other), func(t string) bool { return slices.Contains(ours, t) }) {
			out = append(out, other.Name)
		}
	}
	return out, nil
}

// rereads reports whether a rebuild from source reads its view's sources
// again, applying their changes to the state.
func rereads(source string) bool {
	return source == registry.SourceSource || source == registry.SourceKafka || source == registry.SourceSignal
}

// tryLockView takes the view's lock if it is free right now. The daemons'
// drop of expired generations takes it, so that it never drops a target a
// rebuild (--resume) is creating again.
func (e *Env) tryLockView(ctx context.Context, view string) (func(), bool, error) {
	return e.takeViewLock(ctx, view, 0)
}

// takeViewLock tries the view's lock until it is free or wait is over.
func (e *Env) takeViewLock(ctx context.Context, view string, wait time.Duration) (func(), bool, error) {
	pooled, err := e.Pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("lock view %s: %w", view, err)
	}
	// The session holding the lock is taken out of the pool at once: a
	// rebuild holding several (its view's and those sharing its sources)
	// must not hold the connections its own work needs.
	conn := pooled.Hijack()
	closeConn := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = conn.Close(ctx)
	}
	space := e.Registry.Schema() + ".rebuild"
	deadline := time.Now().Add(wait)
	for {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext($1), hashtext($2))`, space, view).Scan(&ok); err != nil {
			closeConn()
			return nil, false, fmt.Errorf("lock view %s: %w", view, err)
		}
		if ok {
			break
		}
		if !time.Now().Before(deadline) {
			closeConn()
			return nil, false, nil
		}
		select {
		case <-ctx.Done():
			closeConn()
			return nil, false, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return func() {
		// Unlock explicitly (closing alone frees the lock only once the
		// backend has exited), then close: whatever state the context left
		// the connection in, the session ends.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtext($1), hashtext($2))`, space, view)
		_ = conn.Close(ctx)
	}, true, nil
}

// estimate is how many documents the view has, for progress and the
// generation's DocsTotal: its live root rows, or for a group_by view its
// groups (the distinct group keys, as the fill lists them). Rows a where
// leaves out are counted: it is an upper bound.
func (e *Env) estimate(ctx context.Context, view string) (int64, error) {
	v, err := e.View(view)
	if err != nil {
		return 0, err
	}
	var n int64
	table := pgx.Identifier{e.Registry.Schema(), "state_" + v.Root.Name}.Sanitize()
	q := `SELECT count(*) FROM ` + table + ` WHERE NOT deleted`
	if len(v.GroupBy) > 0 {
		// Rows with a null among their group columns belong to no group:
		// they are left out, as the listing of groups does.
		key, grouped := groupKey(v)
		q = `SELECT count(DISTINCT ` + key + `) FROM ` + table + ` WHERE NOT deleted AND ` + grouped
	}
	if err := e.Pool.QueryRow(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the documents of %s: %w", view, err)
	}
	return n, nil
}

// groupKey is the SQL text of a group_by view's group key in a state row,
// as the engine lists groups: the text of one column, or a JSON array of
// the texts of several; and grouped, the condition that the row is in a
// group: none of those columns null (the array itself never is).
func groupKey(v *projections.View) (key, grouped string) {
	parts := make([]string, len(v.IDColumns))
	for i, c := range v.IDColumns {
		parts[i] = "data->>'" + strings.ReplaceAll(c, "'", "''") + "'"
	}
	grouped = strings.Join(parts, " IS NOT NULL AND ") + " IS NOT NULL"
	if len(parts) == 1 {
		return parts[0], grouped
	}
	return "jsonb_build_array(" + strings.Join(parts, ", ") + ")::text", grouped
}
