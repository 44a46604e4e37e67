package stack

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultPoolMaxConns is the most connections a PostgreSQL pool of
// projector opens unless its URL sets pool_max_conns. pgx's own default,
// max(4, CPUs of the node), grows with the node rather than with what the
// server allows: three `run --serve` replicas on 32-core nodes would ask
// for 192 connections of a server allowing 100.
const DefaultPoolMaxConns = 10

// DefaultPingTimeout bounds the ping pgxpool sends on a connection idle
// for more than a second before handing it out, unless the URL sets
// pool_ping_timeout. Without it the ping of an Acquire whose context was
// cancelled goes on in the background for up to a minute, holding the
// connection, and Pool.Close waits for it: a PostgreSQL that hangs would
// hold a daemon's stop that long.
const DefaultPingTimeout = 5 * time.Second

// PoolConfig parses a PostgreSQL URL (or keyword/value string) into a pool
// configuration of at most DefaultPoolMaxConns connections, or of what its
// pool_max_conns says, pinging idle connections within DefaultPingTimeout
// (or its pool_ping_timeout), whose sessions read values the same whatever
// the server's defaults.
func PoolConfig(url string) (*pgxpool.Config, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	// pgxpool takes pool_max_conns out of the settings it keeps; pgx leaves
	// it among the run-time parameters, whichever form the URL has.
	cc, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if _, set := cc.RuntimeParams["pool_max_conns"]; !set {
		pc.MaxConns = max(DefaultPoolMaxConns, pc.MinConns)
	}
	if _, set := cc.RuntimeParams["pool_ping_timeout"]; !set {
		pc.PingTimeout = DefaultPingTimeout
	}
	// Values read back as text (to_jsonb, casts) must not depend on what
	// the database or role sets by default: floats in their shortest exact
	// digits, bytea in hex (which the readers decode). Set once connected,
	// not as startup parameters, which PgBouncer refuses.
	pc.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `SET extra_float_digits = 1; SET bytea_output = 'hex'`)
		return err
	}
	return pc, nil
}
