package stack

import (
	"testing"
	"time"
)

// TestPoolConfigPingTimeout: a pool bounds the ping of an idle connection
// it hands out (a PostgreSQL that hangs holds neither an Acquire nor the
// pool's Close for a minute), unless the URL sets pool_ping_timeout.
func TestPoolConfigPingTimeout(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		want      time.Duration
	}{
		{"url default", "postgres://u@db:5432/shop?sslmode=disable", DefaultPingTimeout},
		{"url sets it", "postgres://u@db:5432/shop?pool_ping_timeout=2s", 2 * time.Second},
		{"keyword/value default", "host=db dbname=shop", DefaultPingTimeout},
		{"keyword/value sets it", "host=db dbname=shop pool_ping_timeout=750ms", 750 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pc, err := PoolConfig(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if pc.PingTimeout != tc.want {
				t.Errorf("PingTimeout = %s, want %s", pc.PingTimeout, tc.want)
			}
		})
	}
}
