package stack

import (
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
// pool_max_conns says.
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
	return pc, nil
}
