package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Instance is a running daemon as the registry sees it.
type Instance struct {
	ID             string
	Host           string
	PID            int
	StartedAt      time.Time
	HeartbeatAt    time.Time
	AppliedVersion int64
	// Definitions is the fingerprint of each view's definition in the
	// instance's configuration (view → sha256; empty from an instance of
	// an earlier version).
	Definitions map[string]string
}

// Heartbeat records that the instance is alive, has applied the registry
// up to version applied (0 before its first read), computes each view's
// documents by the definition definitions fingerprints (view → sha256) and
// writes each view's Redis keys with templates (view → key template); then
// it notes those
// templates (NoteRedisTemplates), so that a template a rebuild forgot while
// this instance still wrote with it is recorded again. An instance calls
// it once before its first read of the registry and before its first
// write: a rebuild registered after that call waits for it, and one
// registered before it is in what it reads.
//
// The two are separate statements, in this order: a rebuild that looks
// whether a template is in use before purging its keys either sees this
// heartbeat, or the note comes after the purge began and keeps the
// template recorded (see ForgetRedisTemplate). In one transaction, the note
// would carry the time the transaction began, possibly before the purge,
// while the heartbeat becomes visible only after the look.
func (r *Registry) Heartbeat(ctx context.Context, id, host string, pid int, applied int64, templates, definitions map[string]string) error {
	if templates == nil {
		templates = map[string]string{}
	}
	if definitions == nil {
		definitions = map[string]string{}
	}
	_, err := r.pool.Exec(ctx, `INSERT INTO `+r.ident("instances")+` AS i (id, host, pid, applied_version, redis_templates, definitions)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), applied_version = greatest(i.applied_version, excluded.applied_version),
			redis_templates = excluded.redis_templates, definitions = excluded.definitions
		WHERE i.heartbeat_at > '-infinity'`,
		id, host, pid, applied, templates, definitions)
	if err != nil {
		return fmt.Errorf("registry: heartbeat of %s: %w", id, err)
	}
	return r.NoteRedisTemplates(ctx, templates)
}

// Deregister removes a stopping instance, so that nobody waits for it. The
// row stays, its heartbeat at -infinity (no longer live; forgotten as the
// silent ones are), so that a heartbeat of the instance still under way
// on the server, its client gone with the stop, cannot make it live again
// (see Heartbeat's ON CONFLICT): a rebuild right after the stop would wait
// for it, or refuse for the definition it had.
func (r *Registry) Deregister(ctx context.Context, id string) error {
	if _, err := r.pool.Exec(ctx, `UPDATE `+r.ident("instances")+` SET heartbeat_at = '-infinity' WHERE id = $1`, id); err != nil {
		return fmt.Errorf("registry: deregister %s: %w", id, err)
	}
	return nil
}

// Instances lists the instances whose last heartbeat is younger than ttl
// (measured by the database clock, the only one they share), and forgets
// those silent for longer than ten times ttl.
func (r *Registry) Instances(ctx context.Context, ttl time.Duration) ([]Instance, error) {
	if _, err := r.pool.Exec(ctx, `DELETE FROM `+r.ident("instances")+` WHERE heartbeat_at < now() - $1::interval`, 10*ttl); err != nil {
		return nil, fmt.Errorf("registry: forget silent instances: %w", err)
	}
	rows, err := r.pool.Query(ctx, `SELECT id, host, pid, started_at, heartbeat_at, applied_version, definitions FROM `+r.ident("instances")+`
		WHERE heartbeat_at >= now() - $1::interval ORDER BY id`, ttl)
	if err != nil {
		return nil, fmt.Errorf("registry: list instances: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Instance, error) {
		var i Instance
		err := row.Scan(&i.ID, &i.Host, &i.PID, &i.StartedAt, &i.HeartbeatAt, &i.AppliedVersion, &i.Definitions)
		return i, err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: list instances: %w", err)
	}
	return out, nil
}

// WaitApplied waits until every live instance (heartbeat younger than ttl)
// has applied version, polling every poll, for at most timeout. It returns
// the instances it waited for. An instance that stops heartbeating is
// treated as gone; one that heartbeats without applying is an error at the
// timeout, naming it.
func (r *Registry) WaitApplied(ctx context.Context, version int64, ttl, poll, timeout time.Duration) ([]Instance, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		live, err := r.Instances(ctx, ttl)
		if err != nil {
			return nil, err
		}
		var behind []Instance
		for _, i := range live {
			if i.AppliedVersion < version {
				behind = append(behind, i)
			}
		}
		if len(behind) == 0 {
			return live, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			return nil, fmt.Errorf("registry: instance %s (%s pid %d) has not applied registry version %d within %s (it applied %d)",
				behind[0].ID, behind[0].Host, behind[0].PID, version, timeout, behind[0].AppliedVersion)
		case <-tick.C:
		}
	}
}
