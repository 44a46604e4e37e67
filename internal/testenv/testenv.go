// Package testenv gives tests their own real PostgreSQL database and Redis
// key space on the servers that scripts/services.sh starts.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/redisconn"
)

func env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run the tests with `make test` (or `source <(scripts/services.sh up)` first)", name)
	}
	return v
}

// Name returns a fresh lowercase identifier with the given prefix.
func Name(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// PostgresURL creates an empty database for this test, drops it when the test
// ends, and returns its URL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := env(t, "PROJECTOR_TEST_POSTGRES_URL")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect %s: %v", redact(base), err)
	}
	defer admin.Close(ctx)
	db := Name("t_")
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop database %s: %v", db, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", db, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", redact(base), err)
	}
	u.Path = "/" + db
	return u.String()
}

// Postgres returns a pool on a fresh database (see PostgresURL).
func Postgres(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	u := PostgresURL(t)
	pool, err := pgxpool.New(context.Background(), u)
	if err != nil {
		t.Fatalf("pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool, u
}

// Redis returns a client on the test Redis and a key prefix unique to this
// test; every key with that prefix is deleted when the test ends.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	c, prefix := openRedis(t, "PROJECTOR_TEST_REDIS_URL")
	single, ok := c.(*redis.Client)
	if !ok {
		t.Fatalf("PROJECTOR_TEST_REDIS_URL: a %T, want a standalone Redis (the cluster is PROJECTOR_TEST_REDIS_CLUSTER_URL)", c)
	}
	return single, prefix
}

// RedisCluster is Redis on the test Redis Cluster (three masters): a
// cluster client and a key prefix unique to this test, whose keys are
// deleted, on every master, when the test ends. The prefix has no hash
// tag: the test's keys spread over the masters.
func RedisCluster(t testing.TB) (*redis.ClusterClient, string) {
	t.Helper()
	c, prefix := openRedis(t, "PROJECTOR_TEST_REDIS_CLUSTER_URL")
	cluster, ok := c.(*redis.ClusterClient)
	if !ok {
		t.Fatalf("PROJECTOR_TEST_REDIS_CLUSTER_URL: a %T, want a Redis Cluster (scripts/services.sh up starts one)", c)
	}
	return cluster, prefix
}

// RedisClusterURL is the test Redis Cluster's URL (one of its masters).
func RedisClusterURL(t testing.TB) string { return env(t, "PROJECTOR_TEST_REDIS_CLUSTER_URL") }

func openRedis(t testing.TB, urlVar string) (redis.UniversalClient, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, known, err := redisconn.Open(ctx, env(t, urlVar), redisconn.Tuning{})
	if err != nil {
		t.Fatalf("%s: %v", urlVar, err)
	}
	prefix := Name("t") + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		// The sinks keep revisions and index memberships beside the keys,
		// under their own prefixes with the doc key inside (a cluster hash
		// tag): those are the test's too.
		for _, pattern := range []string{prefix + "*", "projector:rev:{" + prefix + "*", "projector:rev:" + prefix + "*",
			"projector:ix:{" + prefix + "*", "projector:ix:" + prefix + "*"} {
			_ = redisconn.Scan(ctx, c, pattern, func(ctx context.Context, node *redis.Client, key string) error {
				node.Del(ctx, key)
				return nil
			})
		}
		_ = c.Close()
	})
	if err := redisconn.Ping(ctx, c); err != nil || !known {
		t.Fatalf("%s: redis: %v", urlVar, err)
	}
	return c, prefix
}

// RedisURL is the test Redis URL.
func RedisURL(t testing.TB) string { return env(t, "PROJECTOR_TEST_REDIS_URL") }

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparseable url)"
	}
	if _, ok := p.User.Password(); ok {
		p.User = url.UserPassword(p.User.Username(), "xxxxx")
	}
	return strings.TrimSpace(fmt.Sprint(p))
}
