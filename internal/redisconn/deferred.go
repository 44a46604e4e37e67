package redisconn

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Deferred is the client of a store URL as Open made it, kept until the
// server says what it is. Made while the server did not answer (Open's
// known false), the client is a single-node one that does not know whether
// its server is a Redis Cluster node: until the server says, Resolve asks
// first, and a cluster node has it replaced by a cluster client (made by
// Open, every setting of the URL kept), which follows the slots; the
// single-node one would meet MOVED for every key of another master, for as
// long as the server runs. A client made once the server answered is
// Resolve's from the start.
//
// A replaced client is kept, and closed by Close: a caller may still be
// using it.
type Deferred struct {
	url  string
	tune Tuning

	mu      sync.Mutex
	c       redis.UniversalClient
	known   bool
	retired []redis.UniversalClient
}

// NewDeferred keeps c, which Open made of rawURL with tune and said known
// of, until its server says what it is.
func NewDeferred(rawURL string, tune Tuning, c redis.UniversalClient, known bool) *Deferred {
	return &Deferred{url: rawURL, tune: tune, c: c, known: known}
}

// Resolve returns the client to use. A nil error means the server has
// said what it is (or it was known from the start), and the client is the
// one for good. Otherwise the error says why the server did not (it does
// not answer, a cluster client could not be made), and the client is the
// single-node one made at first, which a caller may still use: its
// commands fail as the question did, or read a standalone server.
func (d *Deferred) Resolve(ctx context.Context) (redis.UniversalClient, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.known {
		return d.c, nil
	}
	if _, ok := d.c.(*redis.Client); !ok {
		d.known = true // a cluster client already follows the slots
		return d.c, nil
	}
	// Asked as Open asks, with options of its own (see askCluster).
	opts, _, err := parse(d.url)
	if err != nil {
		return d.c, err
	}
	d.tune.simple(opts)
	cluster, err := askCluster(ctx, opts)
	switch {
	case err != nil && !Unavailable(err):
		return d.c, err // not answering yet: asked again next time
	case err != nil || !cluster:
		d.known = true // refused both questions: as Open takes it
		return d.c, nil
	}
	c, known, err := Open(ctx, d.url, d.tune) // refuses a database other than 0
	switch {
	case err != nil:
		return d.c, fmt.Errorf("the server is a Redis Cluster node: %w", err)
	case !known:
		_ = c.Close()
		return d.c, ErrStoppedAnswering
	}
	d.retired = append(d.retired, d.c)
	d.c, d.known = c, true
	return c, nil
}

// Close closes the client and every one it replaced.
func (d *Deferred) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for _, c := range append(d.retired, d.c) {
		errs = append(errs, c.Close())
	}
	d.retired = nil
	return errors.Join(errs...)
}
