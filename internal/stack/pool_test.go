package stack

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestPoolConfigMaxConns: a pool opens at most DefaultPoolMaxConns
// connections, whatever the node's CPUs, unless the URL (either form) sets
// pool_max_conns.
func TestPoolConfigMaxConns(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		want      int32
	}{
		{"url default", "postgres://u@db:5432/shop?sslmode=disable", DefaultPoolMaxConns},
		{"url sets it", "postgres://u@db:5432/shop?sslmode=disable&pool_max_conns=3", 3},
		{"url sets it above the default", "postgres://u@db:5432/shop?pool_max_conns=40", 40},
		{"keyword/value default", "host=db dbname=shop", DefaultPoolMaxConns},
		{"keyword/value sets it", "host=db dbname=shop pool_max_conns=2", 2},
		{"min conns above the default", "postgres://db/shop?pool_min_conns=12", 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pc, err := PoolConfig(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if pc.MaxConns != tc.want {
				t.Errorf("MaxConns = %d, want %d", pc.MaxConns, tc.want)
			}
		})
	}
}

// TestWirePoolMaxConns: the daemon's pool takes the default, or the URL's
// pool_max_conns.
func TestWirePoolMaxConns(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	for _, tc := range []struct {
		name  string
		param string
		want  int32
	}{
		{"default", "", DefaultPoolMaxConns},
		{"pool_max_conns", "3", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := url.Parse(pgURL)
			if err != nil {
				t.Fatal(err)
			}
			if tc.param != "" {
				q := u.Query()
				q.Set("pool_max_conns", tc.param)
				u.RawQuery = q.Encode()
			}
			cfg, plan := compilePlan(t, indexedViewYAML, u.String(), "")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			st, err := Wire(ctx, cfg, plan, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if got := st.Pool.Config().MaxConns; got != tc.want {
				t.Errorf("the daemon's pool: MaxConns = %d, want %d", got, tc.want)
			}
		})
	}
}
