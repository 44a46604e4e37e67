package query_test

import (
	"encoding/json"
	"testing"
)

// README "A view in YAML": "A result is written as a column of its type
// holds it, the same in every store: a date as 2024-01-02 (a timestamp's
// date in UTC), a time as HH:MM:SS.ffffff, a timestamp in RFC 3339 UTC,
// both rounded as PostgreSQL rounds them to their declared precision ...
// a uuid in canonical form ..., a real rounded to a 4-byte float ..., a
// numeric(p,s) rounded to s decimals ... and -0 as 0, as the decoder gives
// source values", and "every store gives a float the plain digits of
// PostgreSQL's jsonb (1000000000000000000000, 0.0000001, not 1e+21, 1e-7)"
// (What it decodes). An array result is held to its element type too
// ("an array with an element its element type cannot hold" is an error).
//
// exprResult (projector/exprresult.go) applies those rules to scalar
// results only: an array result is written as the expression gave it
// (the map/[]any branch, and the t.Array early returns of textResult,
// timeResult, integerResult and floatResult), so Redis and Elasticsearch
// hold the raw values while PostgreSQL's typed array column converts
// them: the same document reads differently depending on the store.

// TestExprArrayResultsSameEverywhere_review30h: array results of every
// element type read as their PostgreSQL column holds them, from every
// store.
func TestExprArrayResultsSameEverywhere_review30h(t *testing.T) {
	f := newFidelity(t, fourViews("fidelity-exprarr-r30h", "id",
		`{ id: bigint, n2: "numeric(10,2)", d: "double precision", e: "double precision", ts: timestamp, u: text, tx: text, n: bigint }`,
		`{ id: id,
		   a_num: { expr: "[n2 / 3, n2]", type: "numeric(10,2)[]" },
		   a_uuid: { expr: "[u]", type: "uuid[]" },
		   a_date: { expr: "[ts]", type: "date[]" },
		   a_ts0: { expr: "[ts]", type: "timestamp(0)[]" },
		   a_real: { expr: "[d]", type: "real[]" },
		   a_dbl: { expr: "[e * 1.0]", type: "double precision[]" },
		   a_dbl53: { expr: "[n]", type: "double precision[]" },
		   a_tz: { expr: "[tx]", type: "timestamptz[]" },
		   a_text: { expr: "[n, e * 1.0]", type: "text[]" } }`, ""))
	f.put(1, row{"n2": "1.00", "d": json.Number("0.30000000000000004"), "e": json.Number("1e-7"),
		"ts": "2024-01-02T03:04:05.678901", "u": "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
		"tx": "2024-01-02T23:30:00-05:00", "n": json.Number("9007199254740993")})
	f.wait()
	all := f.reads(1)
	readsEverywhere(t, all, "a_num", `[0.33,1.00]`)
	readsEverywhere(t, all, "a_uuid", `["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]`)
	readsEverywhere(t, all, "a_date", `["2024-01-02"]`)
	readsEverywhere(t, all, "a_ts0", `["2024-01-02T03:04:06Z"]`)
	readsEverywhere(t, all, "a_real", `[0.3]`)
	readsEverywhere(t, all, "a_dbl", `[0.0000001]`)
	readsEverywhere(t, all, "a_dbl53", `[9007199254740992]`)
	readsEverywhere(t, all, "a_tz", `["2024-01-03T04:30:00Z"]`)
	readsEverywhere(t, all, "a_text", `["9007199254740993","0.0000001"]`)
}

// TestExprArrayResultNotRefusedByPostgres_review30h: an array result
// whose element its element type cannot hold is an expression error, null
// in every store (README: "an array with an element its element type
// cannot hold: smallint[] with 40000"), and one PostgreSQL's column takes
// is written: a time[] of a timestamp is its time of day, as a time result
// is. Today numeric(4,1)[] with 1000.0, real[] with 1e39 and time[] with a
// timestamp go to Redis and Elasticsearch as given, and PostgreSQL refuses
// the whole document ("numeric field overflow", "out of range for type
// real", "invalid input syntax for type time"): the doc is missing from
// PostgreSQL (get 404, list empty) and dead-lettered.
func TestExprArrayResultNotRefusedByPostgres_review30h(t *testing.T) {
	f := newFidelity(t, fourViews("fidelity-exprarrref-r30h", "id",
		`{ id: bigint, n2: "numeric(10,2)", d: "double precision", ts: timestamp, tx: text }`,
		`{ id: id,
		   a_over: { expr: "[n2 * 1000]", type: "numeric(4,1)[]" },
		   a_rbig: { expr: "[d * 1.0e39]", type: "real[]" },
		   a_time: { expr: "[ts]", type: "time[]" },
		   a_bool: { expr: "[tx]", type: "boolean[]" } }`, ""))
	f.put(1, row{"n2": "1.00", "d": json.Number("1"), "ts": "2024-01-02T03:04:05.678901", "tx": "maybe"})
	f.wait()
	if dl := f.deadLetters(); len(dl) > 0 {
		t.Errorf("doc refused by a store: %v", dl)
	}
	all := f.reads(1)
	readsEverywhere(t, all, "a_over", `null`)
	readsEverywhere(t, all, "a_rbig", `null`)
	readsEverywhere(t, all, "a_time", `["03:04:05.678901"]`)
	readsEverywhere(t, all, "a_bool", `null`)
}

// TestExprJSONBFloatsPlainDigitsEverywhere_review30h: a jsonb result
// holding a float the expression computed ({"x": e}, e = 1e-7; {"y": big},
// 1e21) reads with PostgreSQL jsonb's plain digits from every store, as a
// double precision result does (TestExprFloatTextSameEverywhere) and as
// the README promises ("numbers inside jsonb read as PostgreSQL's jsonb
// gives them back"; "not 1e+21, 1e-7"). cleanValue (projector/
// exprresult.go) only clears -0 inside json results, so Redis and
// Elasticsearch hold encoding/json's 1e-7 and 1e+21 while PostgreSQL
// reads 0.0000001 and 1000000000000000000000.
func TestExprJSONBFloatsPlainDigitsEverywhere_review30h(t *testing.T) {
	f := newFidelity(t, fourViews("fidelity-exprjsonbfloat-r30h", "id",
		`{ id: bigint, e: "double precision", big: "double precision" }`,
		`{ id: id, j: { expr: "{\"x\": e, \"y\": big, \"z\": [e]}", type: jsonb } }`, ""))
	f.put(1, row{"e": json.Number("1e-7"), "big": json.Number("1e21")})
	f.wait()
	readsEverywhere(t, f.reads(1), "j", `{"x":0.0000001,"y":1000000000000000000000,"z":[0.0000001]}`)
}
