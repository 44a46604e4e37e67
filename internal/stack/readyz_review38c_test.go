package stack

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

const r38cESViewYAML = `
version: 1
kafka: { brokers: "127.0.0.1:9" }
stores:
  postgres: { url: "${PG}" }
  elasticsearch: { url: "${ES}", username: "${ES_USER}", password: "${ES_PASSWORD}" }
sources:
  items: { topic: t.public.items, key: id, columns: { id: bigint } }
views:
  item_view:
    from: items
    fields: { id: id }
    sinks:
      elasticsearch: { index: items }
`

// TestR38cReadyzNamesNoElasticsearchUser: /readyz is unauthenticated, and
// README (Operations) keeps the role a store is reached with in the log,
// off the admin port: a PostgreSQL that refuses projector's password is
// "refused, SQLSTATE 28P01", naming no role. An Elasticsearch that refuses
// projector's credentials answers, as real clusters do, "unable to
// authenticate user [NAME] for REST request [PATH]" (and a 403 "action
// [...] is unauthorized for user [NAME] with effective roles [...]"), and
// /readyz repeats it: the user and the alias, to anyone reaching the port.
func TestR38cReadyzNamesNoElasticsearchUser(t *testing.T) {
	const user = "orders_writer_r38c"
	es := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reason := fmt.Sprintf("unable to authenticate user [%s] for REST request [%s]", user, r.URL.Path)
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.Header().Set("WWW-Authenticate", `Basic realm="security" charset="UTF-8"`)
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error":{"root_cause":[{"type":"security_exception","reason":%q,"header":{"WWW-Authenticate":["Basic realm=\"security\" charset=\"UTF-8\"","ApiKey"]}}],"type":"security_exception","reason":%q,"header":{"WWW-Authenticate":["Basic realm=\"security\" charset=\"UTF-8\"","ApiKey"]}},"status":401}`, reason, reason)
	}))
	defer es.Close()
	_, pgURL := testenv.Postgres(t)
	vars := map[string]string{"PG": pgURL, "ES": es.URL, "ES_USER": user, "ES_PASSWORD": "rotated-away"}
	cfg, err := config.Parse("wire.yaml", []byte(r38cESViewYAML), func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stores, err := OpenStores(cfg, plan, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stores.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { stores.Watch(ctx, 20*time.Millisecond) })
	defer func() { cancel(); wg.Wait() }()

	var problem string
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		p := stores.Problems()
		if problem = p["elasticsearch"]; problem != "" && problem != notChecked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never named elasticsearch: %v", p)
		}
		<-tick.C
	}
	if strings.Contains(problem, user) {
		t.Errorf("/readyz, unauthenticated, names the Elasticsearch user: elasticsearch: %q", problem)
	}
}
