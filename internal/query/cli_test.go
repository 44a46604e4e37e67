package query_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/cli"
	"github.com/projectorhq/projector/internal/query"
	"github.com/projectorhq/projector/internal/testenv"
)

// projectorCLI runs the command line against the shop's configuration.
func projectorCLI(t *testing.T, s *shop, args ...string) (int, string, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "projector.yaml")
	if err := os.WriteFile(file, []byte(s.yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), append([]string{args[0], "-c", file}, args[1:]...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestQueryCommand: `projector query` reads through the same code as the
// API, without a server.
func TestQueryCommand(t *testing.T) {
	s := newShop(t, shopOptions{})
	fill(s)

	code, out, errOut := projectorCLI(t, s, "query", "orders", "1")
	var doc map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || doc["status"] != "paid" {
		t.Fatalf("query orders 1: %d %q %q", code, out, errOut)
	}
	code, out, errOut = projectorCLI(t, s, "query", "orders", "--where", "status=paid", "--where", "total[gte]=10", "--sort", "-created_at")
	var page struct {
		Docs       []map[string]any `json:"docs"`
		NextCursor *string          `json:"next_cursor"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &page) != nil || len(page.Docs) != 1 || page.Docs[0]["id"] != float64(1) || page.NextCursor != nil {
		t.Fatalf("query --where: %d %q %q", code, out, errOut)
	}
	// A table, and the cursor to continue on stderr.
	code, out, errOut = projectorCLI(t, s, "query", "orders", "--sort", "total", "--limit", "2", "-o", "table")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "id") || !strings.HasPrefix(lines[1], "4 ") ||
		!strings.Contains(lines[1], `"email":"bob@example.com"`) || !strings.Contains(errOut, "--cursor ") {
		t.Fatalf("query -o table: %d\n%s\n%s", code, out, errOut)
	}
	cursor := strings.TrimSpace(errOut[strings.Index(errOut, "--cursor ")+len("--cursor "):])
	code, out, _ = projectorCLI(t, s, "query", "orders", "--sort", "total", "--limit", "2", "--cursor", cursor, "-o", "table")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[1], "5 ") {
		t.Fatalf("second page: %d\n%s", code, out)
	}
	// Search sees what Elasticsearch refreshed.
	res, err := http.Post(s.es.URL()+"/orders/_refresh", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	code, out, errOut = projectorCLI(t, s, "query", "orders", "--search", "gift", "--facets", "status", "-o", "table")
	if code != 0 || len(strings.Split(strings.TrimSpace(out), "\n")) != 3 || !strings.Contains(errOut, "status: paid (2)") {
		t.Fatalf("query --search: %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = projectorCLI(t, s, "query", "lines", `["1","2"]`)
	if code != 0 || !strings.Contains(out, `"sku": "B/2"`) {
		t.Fatalf("composite id: %d %s", code, out)
	}
	lsn := s.order(7, row{"user_id": "u1", "status": "new", "note": "fresh"})
	code, out, errOut = projectorCLI(t, s, "query", "orders", "7", "--min-position", "orders:"+lsnText(lsn))
	if code != 0 || !strings.Contains(out, `"note": "fresh"`) {
		t.Fatalf("--min-position: %d %s %s", code, out, errOut)
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"query", "orders", "999"}, 1, "no doc"},
		{[]string{"query", "nosuch"}, 2, `view "nosuch" is not declared`},
		{[]string{"query", "orders", "--where", "nosuch=1"}, 2, "no field"},
		{[]string{"query", "orders", "--where", "status"}, 2, "FIELD=VALUE"},
		{[]string{"query", "orders", "1", "--where", "status=paid"}, 2, "do not apply"},
		{[]string{"query", "orders", "-o", "xml"}, 2, "json or table"},
		{[]string{"query", "orders", "--min-position", "orders:zz"}, 2, "min_position"},
	} {
		code, _, errOut := projectorCLI(t, s, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d %q; want %d and %q", c.args, code, errOut, c.code, c.msg)
		}
	}
}

// TestServeCommand: `projector serve` refuses an open API on every

// TestQuerySearchSeesWaitedWrite: `projector query --search
// --min-position` refreshes the view's index after the wait, as the HTTP
// API does, so the search sees the write it waited for. The index's clock
// is stopped: no periodic refresh can make it visible instead.
func TestQuerySearchSeesWaitedWrite(t *testing.T) {
	s := newShop(t, shopOptions{})
	s.user("u1", "Ada", "ada@example.com")
	s.caughtUp()
	stopped := time.Now()
	s.es.SetNow(func() time.Time { return stopped })
	lsn := s.order(1, row{"user_id": "u1", "status": "new", "note": "brandnew"})
	code, out, errOut := projectorCLI(t, s, "query", "orders", "--search", "brandnew", "--min-position", "orders:"+lsnText(lsn))
	if code != 0 || !strings.Contains(out, `"total": 1`) {
		t.Fatalf("search after --min-position: %d\n%s\n%s", code, out, errOut)
	}
}

// interface, and serves on loopback until its context ends.
func TestServeCommand(t *testing.T) {
	s := newShop(t, shopOptions{})
	fill(s)
	code, _, errOut := projectorCLI(t, s, "serve", "--listen", "0.0.0.0:0")
	if code != 2 || !strings.Contains(errOut, query.TokensEnv) {
		t.Fatalf("serve on 0.0.0.0 without tokens: %d %q", code, errOut)
	}
	t.Setenv(query.TokensEnv, "x:orders")
	if code, _, errOut := projectorCLI(t, s, "serve"); code != 2 || strings.Contains(errOut, "x:orders") {
		t.Fatalf("serve with a bad token list: %d %q", code, errOut)
	}
	t.Setenv(query.TokensEnv, tokenAll+":*")

	file := filepath.Join(t.TempDir(), "projector.yaml")
	if err := os.WriteFile(file, []byte(s.yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	logs := &testenv.Logs{}
	exit := make(chan int, 1)
	go func() {
		exit <- cli.Main(ctx, []string{"serve", "-c", file, "--listen", "0.0.0.0:0", "--admin-listen", "127.0.0.1:0"}, &out, logs)
	}()
	addr := ""
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for addr == "" {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not log its address: %s", logs.String())
		}
		select {
		case code := <-exit:
			t.Fatalf("serve exited %d: %s", code, logs.String())
		case <-tick.C:
		}
		if _, rest, ok := strings.Cut(logs.String(), "addr=http://"); ok {
			addr, _, _ = strings.Cut(rest, " ")
		}
	}
	status, body := call(t, "http://"+addr, "/v1/views/orders/docs/1", "Authorization", "Bearer "+tokenAll)
	if status != http.StatusOK || body["status"] != "paid" {
		t.Errorf("served doc: %d %v", status, body)
	}
	cancel()
	if code := <-exit; code != 0 {
		t.Errorf("serve exited %d: %s", code, logs.String())
	}
	if strings.Contains(logs.String(), tokenAll) {
		t.Error("the token is in the log")
	}
}
