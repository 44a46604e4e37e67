package debezium

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// mongoValue builds a schemaless MongoDB change event; doc fields are JSON
// strings (Extended JSON text) or null.
func mongoValue(op, after, patch, filter, updateDescr string) []byte {
	q := func(s string) string {
		if s == "" {
			return "null"
		}
		return strconv.Quote(s)
	}
	ud := "null"
	if updateDescr != "" {
		ud = updateDescr
	}
	return []byte(`{"after":` + q(after) + `,"patch":` + q(patch) + `,"filter":` + q(filter) +
		`,"updateDescription":` + ud + `,"source":{"connector":"mongodb","name":"m","db":"shop","collection":"users","ts_ms":1700000000123,"ord":7,"snapshot":"false"},"op":"` + op + `"}`)
}

func TestExtendedJSONValues(t *testing.T) {
	tests := []struct {
		name, in string
		json     string // the decoded value's JSON
	}{
		{"oid", `{"$oid": "63E3A3BF314A4076D249E203"}`, `"63e3a3bf314a4076d249e203"`},
		{"date millis v1", `{"$date": 1746034410610}`, `"2025-04-30T17:33:30.61Z"`},
		{"date iso v2", `{"$date": "2025-04-30T17:33:30.61Z"}`, `"2025-04-30T17:33:30.61Z"`},
		{"date iso offset", `{"$date": "2025-04-30T19:33:30.610+02:00"}`, `"2025-04-30T17:33:30.61Z"`},
		{"date canonical", `{"$date": {"$numberLong": "1746034410610"}}`, `"2025-04-30T17:33:30.61Z"`},
		{"date negative", `{"$date": -1}`, `"1969-12-31T23:59:59.999Z"`},
		{"numberLong max", `{"$numberLong": "9223372036854775807"}`, `9223372036854775807`},
		{"numberInt", `{"$numberInt": "-42"}`, `-42`},
		{"numberDouble", `{"$numberDouble": "1.5"}`, `1.5`},
		{"numberDouble integral", `{"$numberDouble": "1.0"}`, `1`},
		{"numberDouble infinity", `{"$numberDouble": "-Infinity"}`, `"-Infinity"`},
		{"numberDouble nan", `{"$numberDouble": "NaN"}`, `"NaN"`},
		{"numberDecimal", `{"$numberDecimal": "1234567890123456789012345678901234.5"}`, `"1234567890123456789012345678901234.5"`},
		{"numberDecimal exponent", `{"$numberDecimal": "1.5E+3"}`, `"1500"`},
		{"numberDecimal nan", `{"$numberDecimal": "NaN"}`, `"NaN"`},
		{"binary uuid legacy", `{"$binary": "YPFP4vhXQEq1hjtTdbMlnw==", "$type": "04"}`, `"60f14fe2-f857-404a-b586-3b5375b3259f"`},
		{"binary uuid v2", `{"$binary": {"base64": "YPFP4vhXQEq1hjtTdbMlnw==", "subType": "04"}}`, `"60f14fe2-f857-404a-b586-3b5375b3259f"`},
		{"binary uuid old subtype", `{"$binary": {"base64": "YPFP4vhXQEq1hjtTdbMlnw==", "subType": "03"}}`, `"60f14fe2-f857-404a-b586-3b5375b3259f"`},
		{"binary generic", `{"$binary": {"base64": "AAEC", "subType": "00"}}`, `"AAEC"`},
		{"binary legacy generic", `{"$binary": "AAEC", "$type": "0"}`, `"AAEC"`},
		{"uuid shell", `{"$uuid": "60f14fe2-f857-404a-b586-3b5375b3259f"}`, `"60f14fe2-f857-404a-b586-3b5375b3259f"`},
		{"timestamp", `{"$timestamp": {"t": 1700000000, "i": 3}}`, `{"i":3,"t":1700000000}`},
		{"regex v2", `{"$regularExpression": {"pattern": "^a", "options": "i"}}`, `{"options":"i","pattern":"^a"}`},
		{"regex legacy", `{"$regex": "^a", "$options": "i"}`, `{"options":"i","pattern":"^a"}`},
		{"symbol", `{"$symbol": "s"}`, `"s"`},
		{"code", `{"$code": "f()"}`, `"f()"`},
		{"code with scope", `{"$code": "f()", "$scope": {"x": 1}}`, `{"code":"f()","scope":{"x":1}}`},
		{"minKey", `{"$minKey": 1}`, `{"$minKey":1}`},
		{"maxKey", `{"$maxKey": 1}`, `{"$maxKey":1}`},
		{"undefined", `{"$undefined": true}`, `null`},
		{"dbPointer", `{"$dbPointer": {"$ref": "db.c", "$id": {"$oid": "63e3a3bf314a4076d249e203"}}}`, `{"$id":"63e3a3bf314a4076d249e203","$ref":"db.c"}`},
		{"dbref stays a document", `{"$ref": "c", "$id": 5, "$db": "x"}`, `{"$db":"x","$id":5,"$ref":"c"}`},
		{"unknown dollar key", `{"$foo": 1}`, `{"$foo":1}`},
		{"plain big int", `12345678901234567890`, `12345678901234567000`},
		{"plain int", `9223372036854775807`, `9223372036854775807`},
		{"nested", `{"a": [{"$numberLong": "1"}, {"b": {"$oid": "63e3a3bf314a4076d249e203"}}]}`, `{"a":[1,{"b":"63e3a3bf314a4076d249e203"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := ParseExtendedJSON([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			wantJSON(t, v, tt.json)
		})
	}
	// Types, beyond their JSON.
	v, _ := ParseExtendedJSON([]byte(`{"$numberDecimal": "0.10"}`))
	if d, ok := v.(decimal.Decimal); !ok || !d.Equal(decimal.RequireFromString("0.1")) {
		t.Errorf("$numberDecimal = %#v", v)
	}
	v, _ = ParseExtendedJSON([]byte(`{"$numberLong": "5"}`))
	if v != int64(5) {
		t.Errorf("$numberLong = %#v", v)
	}
	v, _ = ParseExtendedJSON([]byte(`{"$date": 0}`))
	if tm, ok := v.(time.Time); !ok || tm.Location() != time.UTC || !tm.Equal(time.Unix(0, 0)) {
		t.Errorf("$date = %#v", v)
	}
}

func TestExtendedJSONMalformed(t *testing.T) {
	for _, in := range []string{
		`{"$oid": "xyz"}`, `{"$oid": 5}`, `{"$date": true}`, `{"$date": "yesterday"}`, `{"$date": 1e300}`,
		`{"$numberLong": 5}`, `{"$numberLong": "x"}`, `{"$numberInt": "99999999999"}`, `{"$numberDouble": "x"}`,
		`{"$numberDecimal": "1e999999"}`, `{"$binary": "%%", "$type": "00"}`, `{"$binary": {"base64": "AA=="}}`,
		`{"$binary": "AA==", "$type": "zz"}`, `{"$timestamp": {"t": -1, "i": 0}}`, `{"$uuid": "x"}`,
		`{"$minKey": 2}`, `{"$undefined": false}`, `{"a": 1`, `{"a": 1} x`, `{"a": 1e999}`,
	} {
		t.Run(in, func(t *testing.T) {
			_, err := ParseExtendedJSON([]byte(in))
			if err == nil {
				t.Fatal("no error")
			}
			assertMalformed(t, err)
		})
	}
}

func TestMongoUpdates(t *testing.T) {
	tests := []struct {
		name      string
		value     []byte
		key       string
		wantAfter string // JSON of After, "null" when absent
		wantPatch string // JSON of Patch, "null" when absent
		wantKey   string
	}{
		{
			name:      "change streams without full document",
			value:     mongoValue("u", "", "", "", `{"updatedFields":"{\"name\": \"Ann\", \"address.city\": \"Oslo\", \"at\": {\"$date\": \"2025-04-30T17:33:30.61Z\"}, \"n\": {\"$numberDecimal\": \"1.10\"}}","removedFields":["tmp","old"],"truncatedArrays":[{"field":"tags","size":2}]}`),
			key:       `{"id":"{\"$oid\": \"63e3a3bf314a4076d249e203\"}"}`,
			wantAfter: `null`,
			wantPatch: `{"set":{"address.city":"Oslo","at":"2025-04-30T17:33:30.61Z","n":"1.1","name":"Ann"},"unset":["old","tmp"],"truncated":{"tags":2}}`,
			wantKey:   `{"_id":"63e3a3bf314a4076d249e203"}`,
		},
		{
			name:      "full document wins over the description",
			value:     mongoValue("u", `{"_id": 1, "name": "Ann"}`, "", "", `{"updatedFields":"{\"name\": \"Ann\"}","removedFields":null}`),
			wantAfter: `{"_id":1,"name":"Ann"}`,
			wantPatch: `null`,
			wantKey:   `null`,
		},
		{
			name:      "oplog set and unset",
			value:     mongoValue("u", "", `{"$v": 1, "$set": {"first_name": "Anne Marie", "n": {"$numberLong": "3"}}, "$unset": {"nick": true}}`, `{"_id": {"$numberLong": "1004"}}`, ""),
			wantAfter: `null`,
			wantPatch: `{"set":{"first_name":"Anne Marie","n":3},"unset":["nick"]}`,
			wantKey:   `{"_id":1004}`,
		},
		{
			name:      "oplog replacement",
			value:     mongoValue("u", "", `{"_id": {"$numberLong": "1004"}, "first_name": "Anne"}`, `{"_id": {"$numberLong": "1004"}}`, ""),
			wantAfter: `{"_id":1004,"first_name":"Anne"}`,
			wantPatch: `null`,
			wantKey:   `{"_id":1004}`,
		},
		{
			name:      "oplog v2 diff",
			value:     mongoValue("u", "", `{"$v": 2, "diff": {"u": {"name": "B"}, "i": {"age": 3}, "d": {"tmp": false}, "saddr": {"u": {"city": "Oslo"}}, "stags": {"a": true, "l": 1, "u0": "x"}}}`, `{"_id": 1}`, ""),
			wantAfter: `null`,
			wantPatch: `{"set":{"addr.city":"Oslo","age":3,"name":"B","tags.0":"x"},"unset":["tmp"],"truncated":{"tags":1}}`,
			wantKey:   `{"_id":1}`,
		},
		{
			name:      "record key wins over filter",
			value:     mongoValue("d", "", "", `{"_id": 1}`, ""),
			key:       `{"id":"2"}`,
			wantAfter: `null`,
			wantPatch: `null`,
			wantKey:   `{"_id":2}`,
		},
		{
			name:      "string id key",
			value:     mongoValue("d", "", "", "", ""),
			key:       `{"id":"\"abc\""}`,
			wantAfter: `null`,
			wantPatch: `null`,
			wantKey:   `{"_id":"abc"}`,
		},
		{
			name:      "binary uuid id",
			value:     mongoValue("c", `{"_id": {"$binary": {"base64": "YPFP4vhXQEq1hjtTdbMlnw==", "subType": "04"}}}`, "", "", ""),
			key:       `{"id":"{\"$binary\": \"YPFP4vhXQEq1hjtTdbMlnw==\", \"$type\": \"04\"}"}`,
			wantAfter: `{"_id":"60f14fe2-f857-404a-b586-3b5375b3259f"}`,
			wantPatch: `null`,
			wantKey:   `{"_id":"60f14fe2-f857-404a-b586-3b5375b3259f"}`,
		},
	}
	d := mustDecoder(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var key []byte
			if tt.key != "" {
				key = []byte(tt.key)
			}
			ch, err := d.Decode(key, tt.value)
			if err != nil {
				t.Fatal(err)
			}
			wantJSON(t, ch.After, tt.wantAfter)
			wantJSON(t, ch.Patch, tt.wantPatch)
			wantJSON(t, ch.Key, tt.wantKey)
			wantPos(t, ch, Position{Hi: 1700000000, Lo: 7})
			wantEq(t, "collection", ch.Source.Collection, "users")
		})
	}
}

func TestMongoOldSource(t *testing.T) {
	// Debezium 0.x MongoDB: source.ns, source.sec and a boolean initsync.
	v := `{"after":"{\"_id\": 1}","source":{"name":"f","rs":"rs0","ns":"inventory.customers","sec":1487769672,"ord":3,"initsync":true},"op":"r"}`
	ch, err := mustDecoder(t, Options{}).Decode(nil, []byte(v))
	if err != nil {
		t.Fatal(err)
	}
	wantPos(t, ch, Position{Hi: 1487769672, Lo: 3})
	wantEq(t, "db", ch.Source.DB, "inventory")
	wantEq(t, "collection", ch.Source.Collection, "customers")
	wantEq(t, "snapshot", ch.Source.Snapshot, "true")
}

func TestOtherRecordKinds(t *testing.T) {
	tests := []struct {
		name       string
		opts       Options
		key, value string
		want       string // inspect JSON
		pos        Position
	}{
		{"heartbeat schemaless", Options{}, `{"serverName":"s"}`, `{"ts_ms":1700000000000}`,
			`{"kind":"heartbeat","source":{"ts_ms":1700000000000},"key":{"serverName":"s"}}`, Position{}},
		{"heartbeat with schema", Options{}, "",
			`{"schema":{"type":"struct","name":"io.debezium.connector.common.Heartbeat","fields":[{"type":"int64","field":"ts_ms"}]},"payload":{"ts_ms":5}}`,
			`{"kind":"heartbeat","source":{"ts_ms":5}}`, Position{}},
		{"schema change", Options{}, "",
			`{"source":{"connector":"mysql","db":"inv"},"databaseName":"inv","schemaName":null,"ddl":"CREATE TABLE t (id INT)","tableChanges":[{"type":"CREATE","id":"\"inv\".\"t\""}]}`,
			`{"kind":"schema_change","source":{"connector":"mysql","db":"inv"},"schema_change":{"database_name":"inv","ddl":"CREATE TABLE t (id INT)","table_changes":[{"type":"CREATE","id":"\"inv\".\"t\""}]}}`, Position{}},
		{"json null is a tombstone", Options{}, `{"id":5}`, `null`, `{"kind":"tombstone","key":{"id":5}}`, Position{}},
		{"wrapped null payload is a tombstone", Options{}, `{"id":5}`, `{"schema":null,"payload":null}`, `{"kind":"tombstone","key":{"id":5}}`, Position{}},
		{"string converter key", Options{}, `Struct{id=47,name=a b}`, `{"op":"c","after":{"id":47},"source":{"lsn":9}}`,
			`{"kind":"change","op":"c","source":{"lsn":9},"key":{"id":47,"name":"a b"},"before":null,"after":{"id":47}}`, Position{Hi: 9}},
		{"string converter key of a text column", Options{Columns: map[string]string{"code": "varchar(8)", "n": "bigint"}},
			`Struct{code=007,n=007}`, `{"op":"c","after":{"code":"007","n":7},"source":{"lsn":9}}`,
			`{"kind":"change","op":"c","source":{"lsn":9},"key":{"code":"007","n":7},"before":null,"after":{"code":"007","n":7}}`, Position{Hi: 9}},
		{"schema-less wrapper (RisingWave)", Options{}, "", `{"schema":null,"payload":{"op":"c","after":{"id":1},"source":{"lsn":3}}}`,
			`{"kind":"change","op":"c","source":{"lsn":3},"key":null,"before":null,"after":{"id":1}}`, Position{Hi: 3}},
		{"truncate drops the key", Options{}, `{"id":1}`, `{"op":"t","source":{"lsn":3}}`,
			`{"kind":"change","op":"t","source":{"lsn":3},"key":null,"before":null,"after":null}`, Position{Hi: 3}},
		{"extra fields ignored", Options{}, "", `{"op":"c","after":{"id":1},"source":{"lsn":3,"new_thing":[1,{"a":null}]},"brand_new":{"x":[]},"ts_us":1}`,
			`{"kind":"change","op":"c","source":{"lsn":3},"key":null,"before":null,"after":{"id":1}}`, Position{Hi: 3}},
		{"unwrapped upsert", Options{}, `{"id":1}`, `{"id":1,"name":"x"}`,
			`{"kind":"change","op":"u","source":{},"key":{"id":1},"before":null,"after":{"id":1,"name":"x"}}`, Position{}},
		{"unwrapped forced keeps op column", Options{Format: FormatUnwrapped}, "", `{"id":1,"op":"c","source":"web"}`,
			`{"kind":"change","op":"u","source":{},"key":null,"before":null,"after":{"id":1,"op":"c","source":"web"}}`, Position{}},
		{"unwrapped delete via __op", Options{}, "", `{"id":1,"__op":"d","__lsn":77,"__source_txId":5,"__source_snapshot":"false","__db":"d","__schema":"public"}`,
			`{"kind":"change","op":"d","source":{"db":"d","schema":"public","lsn":77,"tx_id":5},"key":null,"before":{"id":1},"after":null}`, Position{Hi: 77}},
		{"unwrapped toast", Options{}, "", `{"id":1,"body":"__debezium_unavailable_value","__op":"u"}`,
			`{"kind":"change","op":"u","source":{},"key":null,"before":null,"after":{"id":1},"unchanged":["body"]}`, Position{}},
		{"unwrapped mongo document", Options{}, `{"id":"{\"$oid\": \"63e3a3bf314a4076d249e203\"}"}`,
			`{"_id":"63e3a3bf314a4076d249e203","name":"x","__op":"c","__source_ts_ms":1700000000999,"__source_ord":2,"__collection":"users","__deleted":"false"}`,
			`{"kind":"change","op":"c","source":{"collection":"users","ts_ms":1700000000999,"ord":2},"key":{"_id":"63e3a3bf314a4076d249e203"},"before":null,"after":{"_id":"63e3a3bf314a4076d249e203","name":"x"}}`,
			Position{Hi: 1700000000, Lo: 2}},
		{"unwrapped with id column is not forced to mongo", Options{}, `{"id":"abc"}`, `{"_id":"abc","v":1}`,
			`{"kind":"change","op":"u","source":{},"key":{"id":"abc"},"before":null,"after":{"_id":"abc","v":1}}`, Position{}},
		{"tombstone with plain id key stays", Options{}, `{"id":"123"}`, ``,
			`{"kind":"tombstone","key":{"id":"123"}}`, Position{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var key []byte
			if tt.key != "" {
				key = []byte(tt.key)
			}
			ch, err := mustDecoder(t, tt.opts).Decode(key, []byte(tt.value))
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(ch)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			wantPos(t, ch, tt.pos)
		})
	}
}

func assertMalformed(t *testing.T, err error) {
	t.Helper()
	var me *MalformedError
	if !asMalformed(err, &me) {
		t.Fatalf("error %v is not a *MalformedError wrapping ErrMalformed", err)
	}
}
