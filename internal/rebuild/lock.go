package rebuild

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// pickStores checks the requested stores against the view's.
func pickStores(have, want []string) ([]string, error) {
	if len(have) == 0 {
		return nil, fmt.Errorf("%w: the view is written to no configured store", ErrUnknownView)
	}
	if len(want) == 0 {
		return have, nil
	}
	var out []string
	for _, s := range have {
		if slices.Contains(want, s) {
			out = append(out, s)
		}
	}
	for _, s := range want {
		if !slices.Contains(have, s) {
			return nil, fmt.Errorf("%w: store %q (the view is written to %s)", ErrUnknownView, s, strings.Join(have, ", "))
		}
	}
	return out, nil
}

// lockView takes a session lock on the view for as long as this process
// rebuilds it; the lock goes with the connection if the process dies. A
// process that just died may hold it a moment longer (its backend exits
// after the socket closes), so a busy lock is tried again for a while.
func (e *Env) lockView(ctx context.Context, view string) (func(), error) {
	release, ok, err := e.takeViewLock(ctx, view, 2*time.Second)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: another process is rebuilding view %s right now", ErrInProgress, view)
	}
	return release, nil
}

// lockSharingViews takes the locks of the other views that read a source
// view's rebuild reads again (--from source, kafka or signal), for as long
// as it runs. Meanwhile the rebuild applies the source's changes to every
// view that reads it, through the routes of the moment it started: a
// rebuild of one of those views swapping or dropping its generations, or a
// daemon dropping an expired one, would leave the changes in a retired
// table or writing to a dropped one. Those wait for the locks instead.
// They are taken in name order, each given a moment like lockView's.
func (e *Env) lockSharingViews(ctx context.Context, view string) (func(), error) {
	v, err := e.View(view)
	if err != nil {
		return nil, err
	}
	ours := viewTopics(v)
	var releases []func()
	release := func() {
		for _, r := range slices.Backward(releases) {
			r()
		}
	}
	for _, other := range e.Plan.Views {
		if other.Name == view || !slices.ContainsFunc(viewTopics(other), func(t string) bool { return slices.Contains(ours, t) }) {
			continue
		}
		r, ok, err := e.takeViewLock(ctx, other.Name, 2*time.Second)
		if err != nil {
			release()
			return nil, err
		}
		if !ok {
			release()
			return nil, fmt.Errorf("%w: view %s, which reads a source this rebuild of %s reads again, is being rebuilt by another process right now; "+
				"rebuild %s once it ends", ErrInProgress, other.Name, view, view)
		}
		releases = append(releases, r)
	}
	return release, nil
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

// estimate is how many documents the view has, for progress: its live root
// rows (an upper bound for an aggregation).
func (e *Env) estimate(ctx context.Context, view string) (int64, error) {
	v, err := e.View(view)
	if err != nil {
		return 0, err
	}
	var n int64
	table := pgx.Identifier{e.Registry.Schema(), "state_" + v.Root.Name}.Sanitize()
	if err := e.Pool.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE NOT deleted`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the documents of %s: %w", view, err)
	}
	return n, nil
}
