package query

import (
	"encoding/json"
	"testing"

	"github.com/projectorhq/projector/config"
)

// storeView is a view with a field of each kind the readers treat apart.
func storeView(redisFields ...string) *view {
	num := config.Type{Name: "numeric", Precision: 10, Scale: 2}
	nums := num
	nums.Array = true
	id := &field{Name: "id", Type: config.Type{Name: "bigint"}}
	fields := []*field{id,
		{Name: "price", Type: num},
		{Name: "nums", Type: nums},
		{Name: "meta", Type: config.Type{Name: "jsonb"}},
		{Name: "note", Type: config.Type{Name: "text"}},
		{Name: "ok", Type: config.Type{Name: "boolean"}},
		{Name: "user", Object: []*field{{Name: "balance", Type: num}, {Name: "scores", Type: nums}}},
	}
	v := &view{Name: "v", ID: []*field{id}, Fields: fields, byName: map[string]*field{},
		Redis: &redisView{Format: "hash", Fields: redisFields}}
	for _, f := range fields {
		v.byName[f.Name] = f
	}
	return v
}

func sameJSON(t *testing.T, what string, got any, want string) {
	t.Helper()
	b, err := marshal(got)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var a, w any
	if json.Unmarshal(b, &a) != nil || json.Unmarshal([]byte(want), &w) != nil {
		t.Fatalf("%s: %s or %s is not JSON", what, b, want)
	}
	ja, _ := json.Marshal(a)
	jw, _ := json.Marshal(w)
	if string(ja) != string(jw) {
		t.Errorf("%s: got %s, want %s", what, b, want)
	}
}

// TestFromHash: every field the sink writes and the hash lacks (a null
// one) is null; a jsonb value is JSON text (a string quoted), or, written
// raw by an older sink, the string it holds; numbers and booleans get
// their JSON types, numeric arrays numbers once normalized.
func TestFromHash(t *testing.T) {
	for _, c := range []struct {
		what   string
		fields []string
		hash   map[string]string
		want   string
	}{
		{"null fields", nil, map[string]string{"id": "1", "price": "12.50"},
			`{"id":1,"price":12.50,"nums":null,"meta":null,"note":null,"ok":null,"user":null}`},
		{"the sink's fields only", []string{"id", "note"}, map[string]string{"id": "1"},
			`{"id":1,"note":null}`},
		{"jsonb string", []string{"id", "meta"}, map[string]string{"id": "1", "meta": `"123"`}, `{"id":1,"meta":"123"}`},
		{"jsonb number", []string{"id", "meta"}, map[string]string{"id": "1", "meta": `123`}, `{"id":1,"meta":123}`},
		{"jsonb object", []string{"id", "meta"}, map[string]string{"id": "1", "meta": `{"a":[1,"x"]}`}, `{"id":1,"meta":{"a":[1,"x"]}}`},
		{"older raw jsonb string", []string{"id", "meta"}, map[string]string{"id": "1", "meta": `12 apples`}, `{"id":1,"meta":"12 apples"}`},
		{"older raw jsonb text", []string{"id", "meta"}, map[string]string{"id": "1", "meta": `{"a":1} and more`}, `{"id":1,"meta":"{\"a\":1} and more"}`},
		{"types", []string{"id", "ok", "nums", "user", "note"},
			map[string]string{"id": "1", "ok": "true", "nums": `["1.50","NaN"]`, "user": `{"balance":"7.50","scores":["2.00"]}`, "note": "12"},
			`{"id":1,"ok":true,"nums":[1.50,"NaN"],"user":{"balance":7.50,"scores":[2.00]},"note":"12"}`},
	} {
		v := storeView(c.fields...)
		doc := fromHash(v, c.hash)
		if !sameID(v, doc, []string{"1"}) {
			t.Errorf("%s: sameID refused %v", c.what, doc)
		}
		normalize(v.Fields, doc)
		sameJSON(t, c.what, doc, c.want)
	}
}

// TestRawDocNumericArrays: the engine's numeric[] of strings reads as
// numbers, at the top level and inside embedded objects; an array of
// numbers already is returned as stored.
func TestRawDocNumericArrays(t *testing.T) {
	v := storeView()
	for raw, want := range map[string]string{
		`{"id":1,"nums":["1.50","2.00"]}`:               `{"id":1,"nums":[1.50,2.00]}`,
		`{"id":1,"nums":["NaN",null,"3"]}`:              `{"id":1,"nums":["NaN",null,3]}`,
		`{"id":1,"user":{"scores":["1.50"]}}`:           `{"id":1,"user":{"scores":[1.50]}}`,
		`{"id":1,"nums":[1.50,2.00]}`:                   `{"id":1,"nums":[1.50,2.00]}`,
		`{"id":1,"meta":["1.50"],"note":"1","nums":[]}`: `{"id":1,"meta":["1.50"],"note":"1","nums":[]}`,
	} {
		got, ok := rawDoc(v, []byte(raw), []string{"1"})
		if !ok {
			t.Errorf("%s: refused", raw)
			continue
		}
		if want == raw && string(got) != raw {
			t.Errorf("%s: rewritten as %s", raw, got)
		}
		sameJSON(t, raw, json.RawMessage(got), want)
	}
}

func TestBeyondScale(t *testing.T) {
	for _, c := range []struct {
		typ  config.Type
		val  string
		want bool
	}{
		{config.Type{Name: "numeric", Precision: 10, Scale: 2}, "12.504", true},
		{config.Type{Name: "numeric", Precision: 10, Scale: 2}, "12.5", false},
		{config.Type{Name: "numeric", Precision: 10, Scale: 2}, "12.500", false},
		{config.Type{Name: "numeric", Precision: 10, Scale: 2}, "-0.001", true},
		{config.Type{Name: "numeric", Precision: 10, Scale: -1}, "3.5", true}, // numeric(10): scale 0
		{config.Type{Name: "numeric", Precision: 10, Scale: -1}, "3", false},
		{config.Type{Name: "numeric", Precision: -1, Scale: -1}, "3.14159", false}, // any scale
		{config.Type{Name: "double precision", Precision: -1, Scale: -1}, "3.14159", false},
	} {
		if got := beyondScale(&field{Name: "x", Type: c.typ}, c.val); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.typ, c.val, got, c.want)
		}
	}
}

func TestFacetValue(t *testing.T) {
	date := &field{Name: "day", Type: config.Type{Name: "date"}}
	ts := &field{Name: "at", Type: config.Type{Name: "timestamptz"}}
	ok := &field{Name: "ok", Type: config.Type{Name: "boolean"}}
	for _, c := range []struct {
		f    *field
		key  any
		str  string
		want any
	}{
		{date, json.Number("1641600000000"), "2022-01-08T00:00:00.000Z", "2022-01-08"},
		{date, json.Number("-86400000"), "1969-12-31T00:00:00.000Z", "1969-12-31"},
		{date, "2022-01-08", "", "2022-01-08"}, // mapped as keyword by an override
		{ts, json.Number("1641600000000"), "2022-01-08T00:00:00.000Z", "2022-01-08T00:00:00Z"},
		{ts, json.Number("1641600000250"), "2022-01-08T00:00:00.250Z", "2022-01-08T00:00:00.25Z"},
		{ok, json.Number("1"), "true", true}, // as the doc holds it, not key_as_string
		{ok, json.Number("0"), "false", false},
		{ok, "true", "", true}, // mapped as keyword by an override
		{&field{Name: "n", Type: config.Type{Name: "integer"}}, json.Number("7"), "", json.Number("7")},
		{nil, "x", "", "x"},
	} {
		if got := facetValue(c.f, c.key, c.str); got != c.want {
			t.Errorf("facetValue(%v, %v, %q) = %v, want %v", c.f, c.key, c.str, got, c.want)
		}
	}
}
