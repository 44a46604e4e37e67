package stack

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultPoolMaxConns is the most connections a PostgreSQL pool of
// projector opens unless its URL sets pool_max_conns. pgx's own default,
// max(4, CPUs of the node), grows with the node rather than with what the
// server allows: three `run --serve` replicas on 32-core nodes would ask
// for 192 connections of a server allowing 100.
const DefaultPoolMaxConns = 10

// PoolConfig parses a PostgreSQL URL (or keyword/value string) into a pool
// configuration of at most DefaultPoolMaxConns connections, or of what its
// pool_max_conns says, whose sessions read values the same whatever the
// server's defaults.
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
