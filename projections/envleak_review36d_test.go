package projections_test

import (
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// r36dCompileEnv parses and compiles yaml with ${V} set to value and
// returns every problem, of the file and of its views.
func r36dCompileEnv(t *testing.T, yaml, value string) error {
	t.Helper()
	env := func(name string) (string, bool) {
		if name == "V" {
			return value, true
		}
		return "", false
	}
	cfg, err := config.ParseDraft("t.yaml", []byte(yaml), env)
	if cfg == nil {
		return err
	}
	_, err = projections.CompileDraft(cfg, err)
	return err
}

// config/doc.go: a value that came from the environment is never shown in
// a message ("value from ${NAME}"). Review 32j/32k routed most of the
// compiler's messages through Config.Show; these still print the
// environment's text as is.
func TestR36DEnvValueNeverShown(t *testing.T) {
	const head = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://localhost/shop" }, redis: { url: "redis://localhost" } }
sources:
  orders: { topic: shop.public.orders, key: id, columns: { id: bigint, status: text, amount: numeric, info: jsonb } }
views:
  order_view: `
	for _, tc := range []struct{ name, value, view string }{
		{"redis key leaving out the id", `qx36dkey`,
			`{ from: orders, fields: { id: id }, sinks: { redis: { key: "${V}" } } }`},
		{"redis key placeholder not an id field", `qx36dkey:{id}:{status}`,
			`{ from: orders, fields: { id: id, status: status }, sinks: { redis: { key: "${V}" } } }`},
		{"group_by an unscaled numeric", `amount`,
			`{ from: orders, group_by: "${V}", fields: { amount: amount, n: { agg: count } }, sinks: { postgres: {} } }`},
		{"group_by a jsonb", `info`,
			`{ from: orders, group_by: "${V}", fields: { info: info, n: { agg: count } }, sinks: { postgres: {} } }`},
		{"column not grouped", `status`,
			`{ from: orders, group_by: id, fields: { id: id, s: "${V}" }, sinks: { postgres: {} } }`},
		{"agg of a text column", `status`,
			`{ from: orders, group_by: id, fields: { id: id, n: { agg: sum, of: "${V}" } }, sinks: { postgres: {} } }`},
		{"agg of no array", `qx36ditems`,
			`{ from: orders, fields: { id: id, n: { agg: sum, of: "${V}" } }, sinks: { postgres: {} } }`},
		{"postgres index path", `status.x`,
			`{ from: orders, fields: { id: id, status: status }, sinks: { postgres: { indexes: [ { fields: ["${V}"] } ] } } }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := r36dCompileEnv(t, head+tc.view+"\n", tc.value)
			if err == nil {
				t.Fatal("accepted; want an error")
			}
			shown := tc.value
			if i := strings.IndexAny(shown, ":."); i > 0 {
				shown = shown[:i]
			}
			if strings.Contains(err.Error(), shown) {
				t.Errorf("an error shows the value of ${V} (%q), from the environment:\n%v", tc.value, err)
			}
		})
	}
}
