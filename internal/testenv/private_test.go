package testenv

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// refused reports whether nothing listens on the loopback port any more.
func refused(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return true
	}
	_ = c.Close()
	return false
}

func TestPrivateRedis(t *testing.T) {
	var port int
	t.Run("restart keeps the data", func(t *testing.T) {
		s := PrivateRedis(t)
		port = s.Port()
		opts, err := redis.ParseURL(s.URL())
		if err != nil {
			t.Fatal(err)
		}
		opts.MaxRetries = -1
		c := redis.NewClient(opts)
		defer c.Close()
		ctx := t.Context()
		if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}

		s.Stop()
		if err := c.Ping(ctx).Err(); err == nil {
			t.Fatal("PING succeeded while the server is stopped")
		}
		if !refused(port) {
			t.Fatalf("port %d still accepts connections after Stop", port)
		}

		s.Start()
		if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
			t.Fatalf("GET k after restart = %q, %v; want v", got, err)
		}
	})
	if !refused(port) {
		t.Errorf("port %d still accepts connections after the test ended", port)
	}
}

func TestPrivatePostgres(t *testing.T) {
	var port int
	t.Run("restart keeps the data", func(t *testing.T) {
		s := PrivatePostgres(t)
		port = s.Port()
		ctx := t.Context()
		exec := func(sql string) error {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			c, err := pgx.Connect(ctx, s.URL())
			if err != nil {
				return err
			}
			defer c.Close(ctx)
			_, err = c.Exec(ctx, sql)
			return err
		}
		if err := exec(`CREATE TABLE t (x int); INSERT INTO t VALUES (42)`); err != nil {
			t.Fatal(err)
		}

		s.Stop()
		if err := exec(`SELECT 1`); err == nil {
			t.Fatal("a query succeeded while the server is stopped")
		}
		if !refused(port) {
			t.Fatalf("port %d still accepts connections after Stop", port)
		}

		s.Start()
		c, err := pgx.Connect(ctx, s.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		var x int
		if err := c.QueryRow(ctx, `SELECT x FROM t`).Scan(&x); err != nil || x != 42 {
			t.Fatalf("after restart x = %d, %v; want 42", x, err)
		}
	})
	if !refused(port) {
		t.Errorf("port %d still accepts connections after the test ended", port)
	}
}
