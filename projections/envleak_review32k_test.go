package projections_test

import (
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// TestR32kEnvValueNeverShown: config/doc.go promises a value from the
// environment is never shown in a message ("value from ${NAME}"), and
// review 32j routed where/expr and key columns through Config.Show. Three
// paths still print the environment's text: the expression compiler's own
// message names an unknown identifier of an expression from ${V}
// (expr.go prints fe.Message as is: "unknown name qx32k…"); a column
// field whose column comes from ${V} is quoted by compiler.column ("source
// "orders" has no column "qx32k…""); and an id item from ${V} is quoted
// by viewID ("id field "qx32k…" must be a column field of the view").
func TestR32kEnvValueNeverShown(t *testing.T) {
	const source = `{ topic: shop.public.orders, key: id, columns: { id: bigint, status: text } }`
	for _, tc := range []struct{ name, value, view string }{
		{"where with an unknown name", `qx32kFromEnv == 1`,
			`{ from: orders, where: "${V}", fields: { id: id }, sinks: { postgres: {} } }`},
		{"expr with an unknown function", `qx32kFromEnv(status)`,
			`{ from: orders, fields: { id: id, x: { expr: "${V}", type: text } }, sinks: { postgres: {} } }`},
		{"column field", `qx32kcolumn`,
			`{ from: orders, fields: { id: id, x: "${V}" }, sinks: { postgres: {} } }`},
		{"id item", `qx32kfield`,
			`{ from: orders, id: "${V}", fields: { id: id }, sinks: { postgres: {} } }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yaml := `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://localhost/shop" } }
sources:
  orders: ` + source + `
views:
  order_view: ` + tc.view + `
`
			env := func(name string) (string, bool) {
				if name == "V" {
					return tc.value, true
				}
				return "", false
			}
			cfg, err := config.Parse("t.yaml", []byte(yaml), env)
			if err != nil {
				t.Fatalf("config (the case must pass config validation):\n%v", err)
			}
			_, err = projections.Compile(cfg)
			if err == nil {
				t.Fatal("Compile accepted the view; want an error")
			}
			if strings.Contains(err.Error(), "qx32k") {
				t.Errorf("an error shows the value of ${V}, from the environment:\n%v", err)
			}
		})
	}
}
