package query_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/query"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

// lite is a query server over hand-made reader tables: no Kafka, no engine.
type lite struct {
	pool *pgxpool.Pool
	api  *query.Server
	url  string
}

func newLite(t *testing.T, yaml string, ddl ...string) *lite {
	t.Helper()
	pool, pgURL := testenv.Postgres(t)
	for _, q := range ddl {
		if _, err := pool.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	env := map[string]string{"PG": pgURL, "REDIS": testenv.RedisURL(t)}
	cfg, err := config.Parse("lite.yaml", []byte(yaml), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("config:\n%v", err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatalf("plan:\n%v", err)
	}
	cfg.Kafka.Brokers = nil
	api, err := query.New(context.Background(), cfg, plan, query.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	h := httptest.NewServer(api.Handler())
	t.Cleanup(h.Close)
	return &lite{pool: pool, api: api, url: h.URL}
}

func (l *lite) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := l.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", strings.SplitN(sql, "\n", 2)[0], err)
	}
}
