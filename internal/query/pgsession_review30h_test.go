package query_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/projectorhq/projector/internal/query"
)

// reopenAPIAfter runs sql (ALTER DATABASE … SET …) on the test database,
// then starts a new query API over the same stack, whose sessions take the
// database's new defaults, and points f's reads at it.
func reopenAPIAfter(t *testing.T, f *fidelity, sql string) {
	t.Helper()
	ctx := context.Background()
	var db string
	if err := f.pool.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(ctx, "ALTER DATABASE "+db+" "+sql); err != nil {
		t.Fatal(err)
	}
	api, err := query.New(ctx, f.cfg, f.plan, query.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	f.http = srv
}

// TestFloatDigitsIgnoreDatabaseDefault_review30h: a double precision
// 0.30000000000000004 and a real 3.1415927 are stored exactly in every
// store (PostgreSQL's float8/float4 columns included). README "What it
// decodes": "every store gives a float the plain digits of PostgreSQL's
// jsonb", and "Querying the read store": Redis, PostgreSQL and
// Elasticsearch give a doc "as the engine wrote it". The query API sets
// its sessions' TimeZone so that values "read the same on every server"
// (internal/query/server.go), but not extra_float_digits: on a database
// whose default is extra_float_digits = 0 (a setting legacy applications
// use), to_jsonb prints floats with 15 (real: 6) significant digits, and a
// get or list from PostgreSQL answers 0.3 and 3.14159 where Redis and
// Elasticsearch answer 0.30000000000000004 and 3.1415927.
func TestFloatDigitsIgnoreDatabaseDefault_review30h(t *testing.T) {
	f := newFidelity(t, fourViews("fidelity-efd-r30h", "id",
		`{ id: bigint, d: "double precision", r: real, ds: "double precision[]" }`,
		`{ id: id, d: d, r: r, ds: ds }`, ""))
	f.put(1, row{"d": json.Number("0.30000000000000004"), "r": json.Number("3.1415927"), "ds": []any{json.Number("0.30000000000000004")}})
	f.wait()
	reopenAPIAfter(t, f, "SET extra_float_digits = 0")
	all := f.reads(1)
	readsEverywhere(t, all, "d", `0.30000000000000004`)
	readsEverywhere(t, all, "r", `3.1415927`)
	readsEverywhere(t, all, "ds", `[0.30000000000000004]`)
}

// TestByteaIgnoresDatabaseOutputDefault_review30h: a bytea field reads as
// padded base64 ("AQI=") from every store (README "Querying the read
// store": "bytes as padded base64"). pgDoc turns PostgreSQL's hex output
// ("\x0102") into it, but the query API does not set bytea_output for its
// sessions: on a database whose default is bytea_output = 'escape' (kept
// by applications from before PostgreSQL 9.0), to_jsonb prints
// "\\001\\002", which engineBytes does not read, and a get or list from
// PostgreSQL answers that text where Redis and Elasticsearch answer "AQI=".
func TestByteaIgnoresDatabaseOutputDefault_review30h(t *testing.T) {
	f := newFidelity(t, fourViews("fidelity-byteaout-r30h", "id",
		`{ id: bigint, by: bytea, bys: "bytea[]" }`,
		`{ id: id, by: by, bys: bys }`, ""))
	f.put(1, row{"by": "AQI=", "bys": []any{"AQI="}})
	f.wait()
	reopenAPIAfter(t, f, "SET bytea_output = 'escape'")
	all := f.reads(1)
	readsEverywhere(t, all, "by", `"AQI="`)
	readsEverywhere(t, all, "bys", `["AQI="]`)
}
