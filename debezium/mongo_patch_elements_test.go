package debezium

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// TestMongoPatchPathsHeldToDeclaredTypes: a partial MongoDB update that sets
// one element of a declared array by its dotted path (prices.1) holds the
// value to the array's element type, as a whole array's elements are held:
// the store would otherwise get 10.555 in a numeric(10,2)[] (which
// PostgreSQL rounds and Redis does not) or refuse 40000 in a smallint[] on
// every retry. Each form that fills Patch.Set is read: change streams'
// updatedFields, the 1.x oplog's $set and the 5.0 oplog's $v:2 diff.
func TestMongoPatchPathsHeldToDeclaredTypes(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{
		"_id":    "integer",
		"prices": "numeric(10,2)[]",
		"q":      "smallint[]",
		"ids":    "uuid[]",
		"m":      "numeric(10,2)[][]",
		"n":      "bigint",
		"doc":    "jsonb",
		"name":   "text",
		"tags":   "integer[]",
	}})
	upper := "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"
	lower := strings.ToLower(upper)
	tests := []struct {
		name, path, value string // value: Extended JSON
		want              string // JSON of the set value; "" for malformed
	}{
		{"numeric element rounds", "prices.1", `10.555`, `"10.56"`},
		{"numeric element from a Decimal128", "prices.0", `{"$numberDecimal": "1.005"}`, `"1.01"`},
		{"numeric element too wide", "prices.1", `123456789.5`, ""},
		{"smallint element in range", "q.0", `40`, `40`},
		{"smallint element out of range", "q.0", `40000`, ""},
		{"uuid element in lower case", "ids.2", strconv.Quote(upper), strconv.Quote(lower)},
		{"uuid element that is none", "ids.2", `"nope"`, ""},
		{"2-D element", "m.0.1", `2.5`, `"2.50"`},
		{"2-D row", "m.1", `[1, 2.345]`, `["1.00","2.35"]`},
		{"2-D row element out of range", "m.1", `[1, 123456789.5]`, ""},
		{"array in a 1-D element", "prices.1", `[1]`, ""},
		{"null element", "prices.3", `null`, `null`},
		{"field through a bigint", "n.x", `1`, ""},
		{"field through a numeric element", "prices.1.x", `1`, ""},
		{"field through an array is MongoDB's to refuse", "prices.x", `"a"`, `"a"`},
		{"index too long for an array index", "prices.1234567890", `"a"`, `"a"`},
		{"path into jsonb unchanged", "doc.a.b", `10.555`, `10.555`},
		{"path into text unchanged", "name.x", `10.555`, `10.555`},
		{"undeclared column unchanged", "other.1", `10.555`, `10.555`},
		{"whole array still held", "tags", `[1, 2.0]`, `[1,2]`},
	}
	forms := []struct {
		name string
		msg  func(path, value string) []byte
	}{
		{"updatedFields", func(path, value string) []byte {
			set := `{"` + path + `": ` + value + `}`
			return mongoValue("u", "", "", "", `{"updatedFields":`+strconv.Quote(set)+`,"removedFields":[]}`)
		}},
		{"$set", func(path, value string) []byte {
			return mongoValue("u", "", `{"$v": 1, "$set": {"`+path+`": `+value+`}}`, `{"_id": 1}`, "")
		}},
		{"$v:2 diff", func(path, value string) []byte {
			// The diff's own form of the path: a subdiff per step, an
			// array's marked "a" with its elements "u<index>".
			segs := strings.Split(path, ".")
			diff := `{"i": {"` + segs[len(segs)-1] + `": ` + value + `}}`
			if len(segs) > 1 && isArrayIndex(segs[len(segs)-1]) {
				diff = `{"a": true, "u` + segs[len(segs)-1] + `": ` + value + `}`
			}
			for i := len(segs) - 2; i >= 0; i-- {
				if isArrayIndex(segs[i]) {
					diff = `{"a": true, "s` + segs[i] + `": ` + diff + `}`
				} else {
					diff = `{"s` + segs[i] + `": ` + diff + `}`
				}
			}
			return mongoValue("u", "", `{"$v": 2, "diff": `+diff+`}`, `{"_id": 1}`, "")
		}},
	}
	key := []byte(`{"id":"1"}`)
	for _, f := range forms {
		for _, tc := range tests {
			if f.name == "$v:2 diff" && strings.Contains(tc.name, "too long") {
				continue // a diff refuses such an index itself
			}
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				ch, err := d.Decode(key, f.msg(tc.path, tc.value))
				if tc.want == "" {
					if !errors.Is(err, ErrMalformed) {
						t.Fatalf("%s = %s: err %v, want ErrMalformed", tc.path, tc.value, err)
					}
					if !strings.Contains(err.Error(), tc.path) {
						t.Errorf("error %q does not name %s", err, tc.path)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if ch.Patch == nil {
					t.Fatalf("no patch decoded")
				}
				v, ok := ch.Patch.Set[tc.path]
				if !ok {
					t.Fatalf("patch %v does not set %s", ch.Patch.Set, tc.path)
				}
				wantJSON(t, Exact(v), tc.want)
			})
		}
	}
}
