package redisconn_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/redisconn"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestOpen: a Redis Cluster node's URL gives a cluster client, with the
// URL's settings; a standalone server's a single-node one; extra seeds
// make a cluster client, refused when the server answers it is no cluster
// node; a database other than 0 on a cluster is refused, saying why.
func TestOpen(t *testing.T) {
	ctx := context.Background()
	open := func(url string) (redis.UniversalClient, bool, error) {
		t.Helper()
		c, known, err := redisconn.Open(ctx, url, redisconn.Tuning{PoolSize: 3})
		if c != nil {
			t.Cleanup(func() { _ = c.Close() })
		}
		return c, known, err
	}
	clusterURL := testenv.RedisClusterURL(t)
	c, known, err := open(clusterURL + "?client_name=projector-test")
	cc, ok := c.(*redis.ClusterClient)
	if err != nil || !known || !ok {
		t.Fatalf("Open(cluster node) = %T, %v, %v; want a cluster client", c, known, err)
	}
	if o := cc.Options(); o.PoolSize != 3 || o.ClientName != "projector-test" {
		t.Errorf("cluster options: pool %d, client name %q; want the tuning's and the URL's", o.PoolSize, o.ClientName)
	}
	if err := redisconn.Ping(ctx, cc); err != nil {
		t.Errorf("Ping(cluster): %v", err)
	}
	for _, u := range []string{clusterURL + "/0", clusterURL + "/"} {
		if c, _, err := open(u); err != nil {
			t.Errorf("Open(%s) = %T, %v; want database 0 accepted", u, c, err)
		}
	}
	if _, _, err := open(clusterURL + "/1"); !errors.Is(err, redisconn.ErrClusterDB) || !strings.Contains(err.Error(), "database 1") {
		t.Errorf("Open(cluster node, database 1): %v, want ErrClusterDB naming it", err)
	}

	c, known, err = open(testenv.RedisURL(t))
	if _, ok := c.(*redis.Client); err != nil || !known || !ok {
		t.Errorf("Open(standalone) = %T, %v, %v; want a single-node client", c, known, err)
	}

	// Seeds on a standalone server that answers: a configuration error.
	standalone := strings.TrimSuffix(testenv.RedisURL(t), "/1")
	if _, _, err := open(standalone + "?addr=" + strings.TrimPrefix(standalone, "redis://")); !errors.Is(err, redisconn.ErrNotCluster) {
		t.Errorf("Open(standalone with addr= seeds): %v, want ErrNotCluster", err)
	}

	// Seeds: a node that does not answer is taken at their word.
	seeded := "rediss://user:pw@127.0.0.1:1?addr=127.0.0.1:2&addr=127.0.0.1:3&dial_timeout=2s"
	c, known, err = open(seeded)
	cc, ok = c.(*redis.ClusterClient)
	if err != nil || !known || !ok {
		t.Fatalf("Open(seeds) = %T, %v, %v; want a cluster client", c, known, err)
	}
	if o := cc.Options(); len(o.Addrs) != 3 || o.Username != "user" || o.Password != "pw" || o.TLSConfig == nil || o.TLSConfig.MinVersion == 0 {
		t.Errorf("cluster options from seeds: %+v", o)
	}
	if err := redisconn.Check(seeded); err != nil {
		t.Errorf("Check(seeds): %v", err)
	}
	if err := redisconn.Check("redis://127.0.0.1:1/2?addr=127.0.0.1:2"); !errors.Is(err, redisconn.ErrClusterDB) {
		t.Errorf("Check(seeds, database 2): %v, want ErrClusterDB", err)
	}
	if err := redisconn.Check("redis://127.0.0.1:1/x"); err == nil {
		t.Error("Check(database x): nil, want go-redis' error")
	}

	// Down: no answer, so a single-node client for now.
	c, known, err = open("redis://127.0.0.1:1")
	if _, ok := c.(*redis.Client); err != nil || known || !ok {
		t.Errorf("Open(nothing listening) = %T, %v, %v; want a single-node client, not known", c, known, err)
	}
}

// TestScanEveryMaster: Scan finds the keys of every master of a cluster,
// and EachMaster reaches the three.
func TestScanEveryMaster(t *testing.T) {
	c, prefix := testenv.RedisCluster(t)
	ctx := context.Background()
	want := map[string]bool{}
	for i := range 50 {
		k := fmt.Sprintf("%sk:%d", prefix, i)
		if err := c.Set(ctx, k, "1", 0).Err(); err != nil {
			t.Fatal(err)
		}
		want[k] = true
	}
	var mu sync.Mutex
	got, masters := map[string]bool{}, map[string]bool{}
	err := redisconn.Scan(ctx, c, prefix+"*", func(_ context.Context, node *redis.Client, key string) error {
		mu.Lock()
		defer mu.Unlock()
		got[key], masters[node.Options().Addr] = true, true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(masters) != 3 {
		t.Errorf("Scan found %d of %d keys on %d masters, want all on 3", len(got), len(want), len(masters))
	}
}

// TestCheckClusterURL: a URL with seeds takes the options of a single
// server's URL, and Check refuses what Open refuses, saying why.
func TestCheckClusterURL(t *testing.T) {
	tests := []struct {
		url  string
		want error // nil: accepted
	}{
		{"rediss://u:p@127.0.0.1:1/0?addr=127.0.0.1:2&skip_verify=true&idle_timeout=5m&max_conn_age=1h&client_name=x", nil},
		{"redis://127.0.0.1:1?addr=[::1]:2&protocol=2&pool_size=4&conn_max_idle_time=1m", nil},
		{"redis://127.0.0.1:1/3?addr=127.0.0.1:2", redisconn.ErrClusterDB},
		{"redis://127.0.0.1:1?addr=127.0.0.1", redisconn.ErrClusterSeed},
		{"redis://127.0.0.1:1?addr=:2", redisconn.ErrClusterSeed},
		{"unix:///tmp/redis.sock?addr=127.0.0.1:2", redisconn.ErrClusterNetwork},
	}
	for _, tt := range tests {
		err := redisconn.Check(tt.url)
		if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("Check(%s) = %v, want %v", tt.url, err, tt.want)
		}
		c, _, openErr := redisconn.Open(context.Background(), tt.url, redisconn.Tuning{})
		if c != nil {
			_ = c.Close()
		}
		if (err == nil) != (openErr == nil) {
			t.Errorf("Open(%s) = %v, but Check = %v", tt.url, openErr, err)
		}
	}
	if err := redisconn.Check("redis://127.0.0.1:1?addr=127.0.0.1:2&route_randomly=true"); err == nil {
		t.Error("Check(a cluster-only option): nil, want go-redis' unexpected option")
	}
}

// TestCheckKeepsThePasswordOut: a URL that does not parse is refused
// without quoting it: it carries the password.
func TestCheckKeepsThePasswordOut(t *testing.T) {
	err := redisconn.Check("redis://user:s3cret%zz@127.0.0.1:6379/0")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Check(bad URL) = %v; want an error without the password", err)
	}
}
