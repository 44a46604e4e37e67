package query_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/testenv"
)

// r28eLoadingRedis is an address where a Redis answers every command as a
// Redis restarted with persistence does while it loads its dataset (which
// takes minutes on a large one): "-LOADING Redis is loading the dataset in
// memory".
func r28eLoadingRedis(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := bufio.NewReader(c)
				for r28eSkipCommand(r) == nil {
					if _, err := c.Write([]byte("-LOADING Redis is loading the dataset in memory\r\n")); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// r28eSkipCommand reads one RESP command (an array of bulk strings).
func r28eSkipCommand(r *bufio.Reader) error {
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "*")))
	if err != nil {
		return err
	}
	for range n {
		if _, err := r.ReadString('\n'); err != nil { // $len
			return err
		}
		if _, err := r.ReadString('\n'); err != nil { // the bytes
			return err
		}
	}
	return nil
}

// TestR28eGetRedisLoadingFallsBack: README "Stores down": a get falls back
// to PostgreSQL while Redis cannot be reached, and a store that cannot be
// reached answers 503 store_unavailable. A Redis restarted with its data
// answers LOADING to every read until its dataset is in memory — the
// Redis equivalent of PostgreSQL's 57P03 "the database system is starting
// up", which errors.go counts as unavailable. storeUnavailable knows no
// Redis error reply, so the get answers 500 internal instead of the doc
// from PostgreSQL (and instead of 503 for a view only in Redis).
func TestR28eGetRedisLoadingFallsBack(t *testing.T) {
	addr := r28eLoadingRedis(t)
	t.Run("with postgres", func(t *testing.T) {
		api := notesOverRedis(t, addr, false, nil)
		h := httptest.NewServer(api.Handler())
		t.Cleanup(h.Close)
		st, body := call(t, h.URL, "/v1/views/notes/docs/1")
		if st != http.StatusOK || body["body"] != "hello" {
			t.Errorf("GET /docs/1 with Redis loading, PostgreSQL up: %d %v, want 200 and the doc from PostgreSQL", st, body)
		}
	})
	t.Run("redis only", func(t *testing.T) {
		api := notesOverRedis(t, addr, true, nil)
		h := httptest.NewServer(api.Handler())
		t.Cleanup(h.Close)
		st, body := call(t, h.URL, "/v1/views/notes/docs/1")
		if st != http.StatusServiceUnavailable || body["code"] != "store_unavailable" {
			t.Errorf("GET /docs/1 with its only store loading: %d %v, want 503 store_unavailable", st, body)
		}
	})
}

// TestR28eGetRedisMasterDownFallsBack: the same with a real Redis, a
// replica whose master is gone and that does not serve stale data
// (replica-serve-stale-data no): every read answers MASTERDOWN.
func TestR28eGetRedisMasterDownFallsBack(t *testing.T) {
	srv := testenv.PrivateRedis(t)
	opts, err := goredis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	if err := c.ConfigSet(ctx, "replica-serve-stale-data", "no").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "REPLICAOF", "127.0.0.1", "1").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, "note:1").Err(); err == nil || !strings.HasPrefix(err.Error(), "MASTERDOWN") {
		t.Fatalf("premise: GET on the replica: %v, want MASTERDOWN", err)
	}
	api := notesOverRedis(t, strings.TrimPrefix(strings.TrimSuffix(srv.URL(), "/0"), "redis://"), false, nil)
	h := httptest.NewServer(api.Handler())
	t.Cleanup(h.Close)
	st, body := call(t, h.URL, "/v1/views/notes/docs/1")
	if st != http.StatusOK || body["body"] != "hello" {
		t.Errorf("GET /docs/1 with Redis answering MASTERDOWN, PostgreSQL up: %d %v, want 200 and the doc from PostgreSQL", st, body)
	}
}
