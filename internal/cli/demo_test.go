package cli

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestDemoChecksConfigBeforeDropping: demo drops and recreates its
// database; a mistyped -c is reported (exit 2) before, so it does not cost
// the previous demo's data.
func TestDemoChecksConfigBeforeDropping(t *testing.T) {
	pool, url := testenv.Postgres(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `DROP DATABASE IF EXISTS projector_demo WITH (FORCE)`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE DATABASE projector_demo`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), `DROP DATABASE IF EXISTS projector_demo WITH (FORCE)`) })
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = "projector_demo"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, `CREATE TABLE earlier_demo (id int)`)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROJECTOR_POSTGRES_URL", url)
	t.Setenv("PROJECTOR_REDIS_URL", testenv.RedisURL(t))
	code, _, errs := run(t, "demo", "-c", filepath.Join(t.TempDir(), "nosuch.yaml"))
	if code != ExitUsage {
		t.Fatalf("demo -c nosuch.yaml: exit %d, want %d\n%s", code, ExitUsage, errs)
	}
	conn, err = pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("the demo database is gone: %v", err)
	}
	defer conn.Close(ctx)
	var kept bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('earlier_demo') IS NOT NULL`).Scan(&kept); err != nil || !kept {
		t.Errorf("the earlier demo's table is gone (%v): the database was dropped before the configuration was read", err)
	}
}

// demoFileYAML reads two of the example shop's topics into a view of its
// own, in PostgreSQL only.
const demoFileYAML = `version: 1
kafka: { brokers: "${PROJECTOR_KAFKA_BROKERS}", group: "${PROJECTOR_GROUP}" }
stores: { postgres: { url: "${PROJECTOR_POSTGRES_URL}" } }
sources:
  orders: { topic: shop.public.orders, key: id, columns: { id: bigint, user_id: text, status: text } }
  users: { topic: shopmongo.shop.users, key: _id, columns: { _id: text, name: text } }
views:
  buyer_orders:
    from: orders
    fields:
      id: id
      buyer: { one: users, on: { _id: user_id }, fields: { name: name } }
    sinks: { postgres: {} }
`

// TestDemoOfAnotherFile: demo runs any file reading the example shop's
// topics over the example's stream, and shows its views' first documents;
// a file reading none of them is refused at once.
func TestDemoOfAnotherFile(t *testing.T) {
	pool, url := testenv.Postgres(t)
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), `DROP DATABASE IF EXISTS projector_demo WITH (FORCE)`) })
	t.Setenv("PROJECTOR_POSTGRES_URL", url)
	t.Setenv("PROJECTOR_REDIS_URL", "")
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	code, out, errs := run(t, "demo", "-c", write("mine.yaml", demoFileYAML))
	if code != ExitOK || !regexp.MustCompile(`\(\d+ documents in buyer_orders\)`).MatchString(out) || !strings.Contains(out, `"buyer":{"name"`) {
		t.Fatalf("demo of another file: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	t.Setenv("PROJECTOR_POSTGRES_URL", url) // demo points it at its own database
	code, _, errs = run(t, "demo", "-c", write("other.yaml", strings.NewReplacer("shop.public.", "elsewhere.public.", "shopmongo.", "elsewhere.").Replace(demoFileYAML)))
	if code != ExitUsage || !strings.Contains(errs, "reads none of the example shop's topics") {
		t.Errorf("demo of a file reading other topics: exit %d, want %d saying so\n%s", code, ExitUsage, errs)
	}
}

// TestDemoInterruptedDuringCatchUp: Ctrl-C while the demo's daemon is still
// catching up with the records it produced stops the demo then, gracefully
// and with status 0, rather than once the catch-up is over.
func TestDemoInterruptedDuringCatchUp(t *testing.T) {
	if os.Getenv("DEMO_INTERRUPT_CHILD") != "" {
		os.Exit(Main(context.Background(), []string{"demo", "-c", "../../examples/shop/projector.yaml", "--changes", "100000"}, os.Stdout, os.Stderr))
	}
	pool, url := testenv.Postgres(t)
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), `DROP DATABASE IF EXISTS projector_demo WITH (FORCE)`) })
	cmd := exec.Command(os.Args[0], "-test.run=^TestDemoInterruptedDuringCatchUp$")
	cmd.Env = append(os.Environ(), "DEMO_INTERRUPT_CHILD=1", "PROJECTOR_POSTGRES_URL="+url, "PROJECTOR_REDIS_URL="+testenv.RedisURL(t))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var out strings.Builder
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if !signalled && strings.HasPrefix(sc.Text(), "embedded Kafka at") {
				signalled = true
				_ = cmd.Process.Signal(syscall.SIGINT)
			}
		}
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo interrupted during its catch-up: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), stderr.String())
		}
	case <-time.After(2 * time.Minute): // a bound, not a measure: the catch-up alone takes longer
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("demo still running 2 minutes after Ctrl-C\nstdout:\n%s", out.String())
	}
	if strings.Contains(out.String(), "projected ") {
		t.Errorf("the demo went on with its catch-up after Ctrl-C:\n%s", out.String())
	}
}
