package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks/postgres"
)

func productsYAML(fields string) string {
	return `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "${PROJECTOR_POSTGRES_URL}" } }
sources:
  products:
    topic: shop.public.products
    key: id
    columns: { id: bigint, name: text, price: "numeric(10,2)", category: text }
views:
  product_view:
    from: products
    fields: { ` + fields + ` }
    sinks: { postgres: {} }
`
}

// TestValidateOnline: against the live tables, a view that only gains a
// field applies online; one that loses or retypes a field needs a rebuild.
func TestValidateOnline(t *testing.T) {
	pool, url := testenv.Postgres(t)
	t.Setenv("PROJECTOR_POSTGRES_URL", url)
	dir := t.TempDir()
	write := func(fields string) string {
		p := filepath.Join(dir, "p.yaml")
		if err := os.WriteFile(p, []byte(productsYAML(fields)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The table as `projector run` created it.
	cfg, err := config.Load(write("id: id, name: name, price: price"), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := postgres.New(pool, stack.PostgresViews(plan))
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}

	code, out, errs := run(t, "validate", "-c", write("id: id, name: name, price: price, category: category"))
	if code != ExitOK || !strings.Contains(out, "applies online") {
		t.Errorf("an added field: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = run(t, "validate", "-c", write("id: id, name: name"))
	if code != ExitUsage || !strings.Contains(errs, "price") || !strings.Contains(errs, "rebuild") {
		t.Errorf("a removed field: exit %d, want %d and a rebuild\n%s%s", code, ExitUsage, out, errs)
	}
	code, _, _ = run(t, "validate", "--offline", "-c", write("id: id, name: name"))
	if code != ExitOK {
		t.Errorf("--offline: exit %d, want 0", code)
	}
}

// TestValidateKafkaSecurity: validate reports TLS and SASL problems at
// their keys and never prints the password, valid or not.
func TestValidateKafkaSecurity(t *testing.T) {
	const password = "validate-pa55word"
	t.Setenv("PROJECTOR_POSTGRES_URL", "postgres://localhost/x")
	t.Setenv("KAFKA_USERNAME", "projector")
	t.Setenv("KAFKA_PASSWORD", password)
	good := writeConfig(t, strings.Replace(securedYAML([]string{"localhost:9093"}, "/etc/hosts", "plain"),
		`    ca_cert: "/etc/hosts"`+"\n", "", 1))
	code, out, errs := run(t, "validate", "--offline", "-c", good)
	if code != ExitOK || strings.Contains(out+errs, password) {
		t.Errorf("valid: exit %d\n%s%s", code, out, errs)
	}
	bad := writeConfig(t, securedYAML([]string{"localhost:9093"}, "/no/such/ca.pem", "scram-sha-1"))
	code, out, errs = run(t, "validate", "--offline", "-c", bad)
	if code != ExitUsage || strings.Contains(out+errs, password) {
		t.Fatalf("invalid: exit %d, want %d, and no password\n%s%s", code, ExitUsage, out, errs)
	}
	for _, want := range []string{
		bad + `:6:14: kafka.tls.ca_cert: cannot read "/no/such/ca.pem": no such file or directory`,
		bad + `:8:16: kafka.sasl.mechanism must be one of plain, scram-sha-256, scram-sha-512, aws_msk_iam or oauthbearer, got "scram-sha-1"`,
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("validate errors lack %q:\n%s", want, errs)
		}
	}
	// A password written in the file with "${" in it cannot be expanded:
	// the message names the key, and shows no part of the password.
	literal := writeConfig(t, strings.Replace(strings.Replace(securedYAML([]string{"localhost:9093"}, "/etc/hosts", "plain"),
		`    ca_cert: "/etc/hosts"`+"\n", "", 1), "password: ${KAFKA_PASSWORD}", "password: 'Xq7${kP9zz}'", 1))
	code, out, errs = run(t, "validate", "--offline", "-c", literal)
	if code != ExitUsage || strings.Contains(out+errs, "kP9") || !strings.Contains(errs, literal+":9:15: kafka.sasl.password: ") {
		t.Errorf("a literal password with ${: exit %d, want %d, the key and no part of the password\n%s%s", code, ExitUsage, out, errs)
	}
}

// TestValidateReportsEveryProblemAtOnce: a mistake in the file's structure
// does not hide one in a view's meaning; both come out in one run, in the
// order of the file.
func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "p.yaml")
	yaml := strings.Replace(productsYAML("id: id, name: nmae"), `"localhost:9092"`, `"localhost:notaport"`, 1)
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "validate", "--offline", "-c", file)
	broker, column := strings.Index(errs, "p.yaml:2:"), strings.Index(errs, `has no column "nmae"`)
	if code != ExitUsage || broker < 0 || column < broker {
		t.Fatalf("exit %d, want %d with the broker's problem, then the column's\n%s%s", code, ExitUsage, out, errs)
	}
}
