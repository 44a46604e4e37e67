package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestR22aInspectTopicInvalidConfigIsUsage: `inspect --topic` reads the
// Kafka settings of -c. A configuration that cannot be read (no such
// file, an invalid one) is "bad usage or invalid configuration": exit 2,
// as `validate` and `run` exit on the same file, not 1 (the code of a
// malformed record or a runtime failure).
func TestR22aInspectTopicInvalidConfigIsUsage(t *testing.T) {
	bad := writeConfig(t, "version: 1\nkafka: { brokers: x, bogus: 1 }\n")
	for name, args := range map[string][]string{
		"missing file": {"inspect", "--topic", "t", "--offset", "0", "-c", filepath.Join(t.TempDir(), "nosuch.yaml")},
		"invalid file": {"inspect", "--topic", "t", "--offset", "0", "-c", bad},
	} {
		code, _, errs := run(t, args...)
		if code != ExitUsage {
			t.Errorf("%s: inspect --topic -c: exit %d, want %d (invalid configuration)\n%s", name, code, ExitUsage, errs)
		}
	}
	// The same file: validate says 2.
	if code, _, errs := run(t, "validate", "--offline", "-c", bad); code != ExitUsage {
		t.Fatalf("validate: exit %d, want %d\n%s", code, ExitUsage, errs)
	}
}

// TestR22aRunServeBadTokensIsUsage: PROJECTOR_API_TOKENS that the query
// API refuses (a token shorter than 16 characters) is an invalid
// configuration: `serve` exits 2 for it, `run --serve` must too (README:
// exit 2 bad usage or invalid configuration), not 1 as a runtime failure.
func TestR22aRunServeBadTokensIsUsage(t *testing.T) {
	_, url := testenv.Postgres(t)
	t.Setenv("PROJECTOR_POSTGRES_URL", url)
	t.Setenv("PROJECTOR_API_TOKENS", "short:*")
	file := widgetsConfig(t, `kafka: { brokers: "127.0.0.1:1", group: r22a-tokens }
stores: { postgres: { url: "${PROJECTOR_POSTGRES_URL}" } }
admin: { listen: "off" }`, `{ postgres: {} }`)
	code, _, errs := run(t, "serve", "-c", file, "--listen", "127.0.0.1:0")
	if code != ExitUsage {
		t.Fatalf("serve with bad tokens: exit %d, want %d\n%s", code, ExitUsage, errs)
	}
	code, _, errs = run(t, "run", "-c", file, "--serve", "127.0.0.1:0")
	if code != ExitUsage || !strings.Contains(errs, "shorter than 16") {
		t.Errorf("run --serve with bad tokens: exit %d, want %d as serve\n%s", code, ExitUsage, errs)
	}
}

// TestR22aJSONExitLineOnceConfigRead: README: "With json, the error a
// command exits with is a JSON line too ("msg":"exiting", err, exit_code)
// once the configuration is read". These commands read a valid
// configuration with log.format json and then fail, yet print their
// reason as a plain text line.
func TestR22aJSONExitLineOnceConfigRead(t *testing.T) {
	file := widgetsConfig(t, `kafka: { brokers: "127.0.0.1:1", group: r22a-json }
stores: { postgres: { url: "postgres://app@127.0.0.1:1/shop?sslmode=disable&connect_timeout=2" } }
admin: { listen: "127.0.0.1:0" }
log: { format: json, level: info }`, `{ postgres: {} }`)
	for name, args := range map[string][]string{
		"generations, postgres down":     {"generations", "-c", file},
		"inspect --topic, kafka down":    {"inspect", "--topic", "t", "--offset", "0", "-c", file},
		"run --serve with a bad address": {"run", "-c", file, "--serve", "bogus"},
		"rebuild of an undeclared view":  {"rebuild", "nosuch", "-c", file, "--yes"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, errs := run(t, args...)
			if code == ExitOK {
				t.Fatalf("exit 0, want a failure\n%s", errs)
			}
			exiting := false
			for _, line := range strings.Split(strings.TrimSpace(errs), "\n") {
				var rec struct {
					Msg      string `json:"msg"`
					ExitCode *int   `json:"exit_code"`
				}
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Errorf("log.format json, but stderr has a line that is not JSON: %s", line)
					continue
				}
				if rec.Msg == "exiting" && rec.ExitCode != nil && *rec.ExitCode == code {
					exiting = true
				}
			}
			if !exiting {
				t.Errorf("no JSON \"exiting\" line with exit_code %d in stderr:\n%s", code, errs)
			}
		})
	}
}

// TestR22aSourceURLWithoutFromSourceIsRefused: --source-url "goes with
// --from source" (its help), as --reset-positions does, which is refused
// without it (exit 2). Given without --from source, the rebuild silently
// re-reads nothing and rebuilds from the state: the operator asked for a
// re-read of the source and did not get one, told nothing.
func TestR22aSourceURLWithoutFromSourceIsRefused(t *testing.T) {
	ctx := context.Background()
	pool, url := testenv.Postgres(t)
	t.Setenv("PROJECTOR_POSTGRES_URL", url)
	t.Setenv(sourceURLEnv, "")
	p := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(p, []byte(productsYAML("id: id, name: name")), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "rebuild", "product_view", "-c", p, "--yes", "--source-url", "products=postgres://127.0.0.1:1/shop")
	if code != ExitUsage || !strings.Contains(errs, "--source-url") {
		t.Errorf("rebuild --source-url without --from source: exit %d, want %d naming --source-url\nstdout: %s\nstderr: %s", code, ExitUsage, out, errs)
	}
	r22aNoGenerationBuilt(ctx, t, pool)
}

// TestR22aSourceURLUnknownSourceIsRefused: --source-url NAME=URL names a
// source. A name no source of the configuration has (a typo: prodcts for
// products) is never used, silently: with $PROJECTOR_SOURCE_URL set, the
// source is re-read from that default database instead of the one the
// operator named, and the rebuild swaps it in, exit 0. The typo should be
// refused, named, before anything is built (exit 2), as an unknown --sinks
// store is.
func TestR22aSourceURLUnknownSourceIsRefused(t *testing.T) {
	ctx := context.Background()
	pool, url := testenv.Postgres(t)
	t.Setenv("PROJECTOR_POSTGRES_URL", url)
	// The default source database: here the query database itself,
	// holding the products table.
	if _, err := pool.Exec(ctx, `CREATE TABLE public.products (id bigint PRIMARY KEY, name text); INSERT INTO public.products VALUES (1, 'from the default database')`); err != nil {
		t.Fatal(err)
	}
	t.Setenv(sourceURLEnv, url)
	p := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(p, []byte(productsYAML("id: id, name: name")), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "rebuild", "product_view", "-c", p, "--yes", "--from", "source", "--source-url", "prodcts=postgres://127.0.0.1:1/shop")
	if code != ExitUsage || !strings.Contains(errs, "prodcts") {
		t.Errorf("rebuild --source-url prodcts=…: exit %d, want %d naming the unknown source\nstdout: %s\nstderr: %s", code, ExitUsage, out, errs)
	}
	r22aNoGenerationBuilt(ctx, t, pool)
}

// r22aNoGenerationBuilt fails when the registry holds a generation past
// the initial one: a refused rebuild builds nothing.
func r22aNoGenerationBuilt(ctx context.Context, t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	snap, err := registry.New(pool, "").Snapshot(ctx)
	if err != nil {
		return // no registry: nothing was built
	}
	for _, g := range snap.Of("product_view") {
		if g.Number > 1 {
			t.Errorf("a refused rebuild built generation %d (%s, %s)", g.Number, g.State, g.Error)
		}
	}
}
