package query_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/query"
	"github.com/projectorhq/projector/projections"
)

// TestNewGivesUpOnAPostgresThatNeverAnswers: a query PostgreSQL that takes
// the connection and never answers (a hung server, a full accept queue
// behind a proxy) fails New within ConnectTimeout, saying so, rather than
// after pgxpool's two minutes.
func TestNewGivesUpOnAPostgresThatNeverAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c // held open, never answered
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range accepted {
			c.Close()
		}
	})
	yaml := `version: 1
kafka: { brokers: "127.0.0.1:1", group: connect-timeout }
stores: { postgres: { url: "postgres://app@` + ln.Addr().String() + `/shop?sslmode=disable" } }
sources:
  widgets: { topic: cqrs.public.widgets, key: id, columns: { id: text, name: text } }
views:
  widget_view:
    from: widgets
    fields: { id: id, name: name }
    sinks: { postgres: {} }
`
	cfg, err := config.Parse("widgets.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = query.New(context.Background(), cfg, plan, query.Options{ConnectTimeout: 200 * time.Millisecond})
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "no answer within 200ms") {
		t.Errorf("New = %v, want no answer within 200ms", err)
	}
	if took > 5*time.Second {
		t.Errorf("New took %s with a 200ms ConnectTimeout", took)
	}
}
