package elasticsearch

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// beforeFirstAdd serves the fake, running hook once just before the first
// _aliases request that adds an alias reaches it: another process acting
// between Setup's look and its add.
type beforeFirstAdd struct {
	fake http.Handler
	once sync.Once
	hook func()
}

func (h *beforeFirstAdd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Path == "/_aliases" {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if strings.Contains(string(body), `"add"`) {
			h.once.Do(h.hook)
		}
	}
	h.fake.ServeHTTP(w, r)
}

// TestSetupYieldsAliasToRebuild: a rebuild gives a view's alias its first
// generation (AddAlias) between a starting daemon's look at the alias and
// its add. The alias must end on the rebuild's generation alone, not on
// both: readers would see every document twice.
func TestSetupYieldsAliasToRebuild(t *testing.T) {
	fake := esfake.New()
	fields := []Field{{"id", "bigint"}, {"title", "text"}}
	ctx := context.Background()
	direct := httptest.NewServer(fake)
	t.Cleanup(direct.Close)
	rebuild, err := New(Config{URL: direct.URL, MaxBackoff: time.Millisecond}, []View{{Name: "items", Alias: "t-items", Fields: fields, Generation: 2}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rebuild.Close)
	if err := rebuild.CreateIndices(ctx); err != nil {
		t.Fatal(err)
	}
	racing := &beforeFirstAdd{fake: fake, hook: func() {
		if err := rebuild.AddAlias(ctx, "items", 2); err != nil {
			t.Errorf("rebuild's AddAlias: %v", err)
		}
	}}
	srv := httptest.NewServer(racing)
	t.Cleanup(srv.Close)
	b := &backend{name: "esfake with a racing rebuild", cfg: Config{URL: srv.URL, MaxBackoff: time.Millisecond}, fake: fake, prefix: "t-"}
	b.client = testClient(t, b.cfg)
	b.newSink(t, nil, View{Name: "items", Fields: fields}) // the daemon: generation 1
	assertAlias(t, b, "t-items", "t-items-g2")
}

// TestAddAliasTakesItFromADaemon: a daemon's Setup put the alias on its
// generation after the rebuild found it on none; the rebuild's AddAlias
// moves it, in one request.
func TestAddAliasTakesItFromADaemon(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		fields := []Field{{"id", "bigint"}, {"title", "text"}}
		b.newSink(t, nil, View{Name: "items", Fields: fields})
		g2 := b.newSink(t, nil, View{Name: "items", Fields: fields, Generation: 2})
		assertAlias(t, b, b.prefix+"items", b.prefix+"items-g1")
		if err := g2.AddAlias(context.Background(), "items", 2); err != nil {
			t.Fatalf("AddAlias: %v", err)
		}
		assertAlias(t, b, b.prefix+"items", b.prefix+"items-g2")
	})
}
