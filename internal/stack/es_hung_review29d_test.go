package stack

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// TestR29dHungElasticsearchHoldsTheStart: an Elasticsearch that accepts
// connections and never answers (a node stuck in garbage collection, a
// load balancer holding the connection) is one that "does not answer at
// start": README (The stores) says the daemon then starts, unready, as
// for any outage, and Wire bounds its Redis checks for that very reason
// ("a hung Redis must not hold the start"). Wire's Elasticsearch calls
// (checkAliasesBehind, markLostAliases, Setup) run on the caller's
// context and the sink's transport has no response timeout, so Wire never
// returns: the daemon neither starts nor says why. The bound below only
// detects the hang; a fixed Wire returns within its probe timeouts.
func TestR29dHungElasticsearchHoldsTheStart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, c) }() // read, never answer
		}
	}()
	defer func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	cfg, plan := esItemsPlan(t, "http://"+l.Addr().String())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		st  *Stack
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := Wire(ctx, cfg, plan, nil)
		done <- result{st, err}
	}()
	select {
	case r := <-done:
		if r.st != nil {
			r.st.Close()
		}
		t.Logf("Wire returned: %v", r.err)
	case <-time.After(30 * time.Second): // Wire bounds each Elasticsearch step by probeTimeout (5 s)
		cancel()
		r := <-done
		if r.st != nil {
			r.st.Close()
		}
		t.Errorf("Wire with an Elasticsearch that accepts connections and never answers had not returned after 30 s " +
			"(it returned only once its context was cancelled): the daemon does not start, where README says it starts, unready")
	}
}
