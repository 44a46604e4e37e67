package projections_test

import (
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// TestR32jEnvValueNeverShown: config/doc.go (Interpolation) promises "A
// value that came from the environment is never shown in a message
// ("value from ${NAME}")", and package projections reports through the
// same Errors. Its messages quote the values they are about as they are,
// environment or not: a where taken from ${WHERE} that does not compile
// is printed whole, as is a key column from ${KEY}.
func TestR32jEnvValueNeverShown(t *testing.T) {
	for _, tc := range []struct {
		name, value, source, view string
	}{
		{"where", `status == "qx32jFromEnv" &&`,
			`{ topic: shop.public.orders, key: id, columns: { id: bigint, status: text } }`,
			`{ from: orders, where: "${V}", fields: { id: id }, sinks: { postgres: {} } }`},
		{"expr", `qx32jFromEnv +`,
			`{ topic: shop.public.orders, key: id, columns: { id: bigint, status: text } }`,
			`{ from: orders, fields: { id: id, x: { expr: "${V}", type: text } }, sinks: { postgres: {} } }`},
		{"key column", `qx32jfromenv`,
			`{ topic: shop.public.orders, key: "${V}", columns: { id: bigint } }`,
			`{ from: orders, id: id, fields: { id: id }, sinks: { postgres: {} } }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yaml := `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://localhost/shop" } }
sources:
  orders: ` + tc.source + `
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
			if strings.Contains(err.Error(), "qx32j") {
				t.Errorf("an error shows the value of ${V}, from the environment:\n%v", err)
			}
		})
	}
}
