package projector

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestR13JSONBTextLargeExponents: text() must give "exactly as jsonb's ->>
// does for what the state stores" (ids.go), and jsonbNumber says it writes
// numbers in plain digits up to maxJSONBExponent (131072), "beyond
// PostgreSQL's numeric range its state would refuse the row anyway".
// shopspring/decimal refuses exponents beyond its MaxDecodeExponent
// (10000), so between 10001 and PostgreSQL's own limits jsonbNumber keeps
// the literal ("1e10001") while PostgreSQL, which stores the row, gives
// the digits: the join or group key over such an array never matches.
func TestR13JSONBTextLargeExponents(t *testing.T) {
	url := os.Getenv("PROJECTOR_TEST_POSTGRES_URL")
	if url == "" {
		t.Fatal("PROJECTOR_TEST_POSTGRES_URL is not set: run the tests with `make test`")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, in := range []string{`[1e10001]`, `[2.5E-10001]`, `{"a":[1e16000]}`,
		`[1e2,-0,-0.0,1.0E+2,0E-5,5e-324,100e-2,1.50,-12.340e1,0.000,-1E-3,123456789012345678901234567890]`} {
		var v any
		d := json.NewDecoder(bytes.NewReader([]byte(in)))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		got, _ := text(v)
		var pg string
		if err := conn.QueryRow(ctx, `SELECT jsonb_build_object('k', $1::jsonb)->>'k'`, in).Scan(&pg); err != nil {
			t.Fatalf("%s: PostgreSQL refuses it: %v", in, err)
		}
		if got != pg {
			t.Errorf("%s: text() = %.40s… (%d bytes), PostgreSQL's ->> = %.40s… (%d bytes)", in, got, len(got), pg, len(pg))
		}
	}
}
