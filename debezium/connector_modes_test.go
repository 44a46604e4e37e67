package debezium

// Connector settings and event kinds a reader of Debezium's documentation
// expects to work: time.precision.mode=adaptive without schemas,
// non-finite Avro floats, binary.handling.mode=base64-url-safe, ordering by
// source.sequence, and logical decoding messages.

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// Debezium PostgreSQL connector, "time.precision.mode=adaptive" (the
// default): TIMESTAMP(4..6) and a plain TIMESTAMP (precision 6) are INT64
// io.debezium.time.MicroTimestamp, microseconds since the epoch; TIME(4..6)
// and a plain TIME are INT64 io.debezium.time.MicroTime, microseconds past
// midnight. Only TIMESTAMP(1..3)/TIME(1..3) (and time.precision.mode=connect)
// are milliseconds. Documentation, "time.precision.mode=adaptive" table: "the
// TIMESTAMP value "2018-06-20 15:13:16.945104" is represented by an
// io.debezium.time.MicroTimestamp with the value "1529507596945104"".
//
// Without a schema (JsonConverter schemas.enable=false) the declared column
// type is the only hint: read as milliseconds, every row of a
// default-configured connector with a plain timestamp column would be a
// dead letter, and a plain time column silently wrong.
func TestSchemalessAdaptiveTemporalUnits(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{
		"id": "bigint", "created_at": "timestamp", "at": "time", "at3": "time(3)", "ts3": "timestamp(3)",
	}})
	value := `{"before":null,"after":{"id":1,` +
		`"created_at":1529507596945104,` + // MicroTimestamp of 2018-06-20 15:13:16.945104
		`"at":60000000,` + // MicroTime of 00:01:00
		`"at3":60000,` + // Time (ms) of 00:01:00 for time(3)
		`"ts3":1529507596945},` + // Timestamp (ms) for timestamp(3)
		`"source":{"connector":"postgresql","name":"s","schema":"public","table":"t","lsn":1},"op":"c"}`
	ch, err := d.Decode([]byte(`{"id":1}`), []byte(value))
	if err != nil {
		t.Fatalf("Decode: %v (a plain timestamp column is MicroTimestamp by default)", err)
	}
	got, _ := json.Marshal(ch.After)
	want := `{"at":"00:01:00","at3":"00:01:00","created_at":"2018-06-20T15:13:16.945104Z","id":1,"ts3":"2018-06-20T15:13:16.945Z"}`
	if string(got) != want {
		t.Fatalf("after = %s\nwant    %s", got, want)
	}
}

// PostgreSQL real and double precision hold 'NaN', 'Infinity' and
// '-Infinity'; Debezium passes them on as the float, and Confluent's
// AvroConverter writes them as an IEEE NaN/infinity in an Avro "double" or
// "float". The JSON path turns them into the strings "NaN"/"Infinity"/
// "-Infinity" (Change's contract: every value marshals with encoding/json),
// but an Avro double or float field without a logical type has no codec, and
// returning the float64 NaN as it is would make a Change that cannot be
// marshalled (json: unsupported value: NaN). Found by FuzzDecode.
func TestAvroPlainDoubleNaN(t *testing.T) {
	const schema = `{"type":"record","name":"Envelope","namespace":"s.public.t","fields":[
	  {"name":"before","type":["null",{"type":"record","name":"Value","fields":[
	    {"name":"id","type":"long"},
	    {"name":"ratio","type":"double"},
	    {"name":"real","type":["null","float"],"default":null},
	    {"name":"ratios","type":["null",{"type":"array","items":["null","double"]}],"default":null}]}],"default":null},
	  {"name":"after","type":["null","Value"],"default":null},
	  {"name":"source","type":{"type":"record","name":"Source","namespace":"io.debezium.connector.postgresql","fields":[
	    {"name":"connector","type":"string"},{"name":"lsn","type":["null","long"]}]}},
	  {"name":"op","type":"string"}]}`
	for _, tc := range []struct {
		name  string
		ratio float64
		want  string
	}{{"NaN", math.NaN(), "NaN"}, {"+Inf", math.Inf(1), "Infinity"}, {"-Inf", math.Inf(-1), "-Infinity"}} {
		t.Run(tc.name, func(t *testing.T) {
			d := mustDecoder(t, Options{})
			if err := d.AddAvroSchema(41, schema); err != nil {
				t.Fatal(err)
			}
			row := map[string]any{
				"id": int64(1), "ratio": tc.ratio,
				"real":   map[string]any{"float": float32(tc.ratio)},
				"ratios": map[string]any{"array": []any{map[string]any{"double": tc.ratio}}},
			}
			val := frame(41, avroEncode(t, schema, map[string]any{
				"before": nil, "after": map[string]any{"s.public.t.Value": row},
				"source": map[string]any{"connector": "postgresql", "lsn": map[string]any{"long": int64(5)}}, "op": "c",
			}))
			ch, err := d.Decode([]byte(`{"id":1}`), val)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			b, err := json.Marshal(ch)
			if err != nil {
				t.Fatalf("a decoded Change must marshal: %v", err)
			}
			if ch.After["ratio"] != tc.want || ch.After["real"] != tc.want {
				t.Fatalf("after = %s, want ratio and real %q", b, tc.want)
			}
		})
	}
}

// binary.handling.mode=base64-url-safe (Debezium 2.x; PostgreSQL connector
// documentation, "binary.handling.mode": "base64-url-safe represents binary
// data as a base64-url-safe-encoded String") makes a bytea column a STRING
// in the URL-safe alphabet ('-' and '_' for '+' and '/'). With the column
// declared bytea, the hint replaces the plain string codec (refines), and
// both alphabets must read, with a schema and without one.
// (binary.handling.mode=hex is worse: hex digits are valid base64, so
// "0a0b" silently decodes to the wrong bytes d1 a6 9b; it is not asserted
// here because hex cannot be told from base64 without a mode setting.)
func TestBinaryURLSafeBase64(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{"b": "bytea"}})
	want := []byte{0xfb, 0xff, 0xbf}
	withSchema := pgRecord(map[string]string{"b": `{"type":"string","optional":true}`}, []string{"b"}, `{"b":"-_-_"}`)
	schemaless := []byte(`{"before":null,"after":{"b":"-_-_"},"source":{"connector":"postgresql","lsn":1},"op":"c"}`)
	for name, v := range map[string][]byte{"schema": withSchema, "schemaless": schemaless} {
		ch, err := d.Decode(nil, v)
		if err != nil {
			t.Errorf("%s: Decode: %v", name, err)
			continue
		}
		if got, _ := ch.After["b"].([]byte); !bytes.Equal(got, want) {
			t.Errorf("%s: b = %#v, want %x", name, ch.After["b"], want)
		}
	}
}

// DESIGN.md, Consistency model 1: "Every decoded change carries its source
// position: Postgres lsn (plus the commit LSN / sequence where present)".
// Debezium's source.lsn is the WAL position of the change itself, and
// pgoutput delivers transactions in commit order, so the LSNs of changes of
// different transactions are not monotonic in stream order (Debezium added
// source.sequence = ["<last commit LSN>", "<lsn>"], DBZ-2911, exactly so that
// consumers can order and deduplicate; see also MaterializeInc/materialize
// #5668). Row locks keep one row's streamed changes in LSN order, but not a
// snapshot read against a streamed change: an incremental snapshot chunk
// (source.snapshot "incremental") is emitted with the LSN of its close-window
// signal, and a transaction that changed the row before the chunk's SELECT
// but committed after it streams with an older change LSN. Ordering by the
// lsn alone would make the newer streamed update compare older than the
// stale snapshot row, and the engine would drop it.
func TestPostgresPositionUsesSequence(t *testing.T) {
	d := mustDecoder(t, Options{})
	// T1 updated row 1 at LSN 90 and commits at LSN 300, after the
	// incremental snapshot window (opened ~150, closed at LSN 170, signal
	// transaction committed at 175) read the old row.
	snapshotRead := `{"before":null,"after":{"id":1,"v":"old"},"source":{"connector":"postgresql","name":"s","schema":"public","table":"t",` +
		`"snapshot":"incremental","txId":700,"lsn":170,"sequence":"[\"140\",\"170\"]"},"op":"r"}`
	streamed := `{"before":null,"after":{"id":1,"v":"new"},"source":{"connector":"postgresql","name":"s","schema":"public","table":"t",` +
		`"snapshot":"false","txId":690,"lsn":90,"sequence":"[\"175\",\"90\"]"},"op":"u"}`
	r, err := d.Decode([]byte(`{"id":1}`), []byte(snapshotRead))
	if err != nil {
		t.Fatal(err)
	}
	u, err := d.Decode([]byte(`{"id":1}`), []byte(streamed))
	if err != nil {
		t.Fatal(err)
	}
	if u.Position.Compare(r.Position) <= 0 {
		t.Fatalf("streamed update (sequence [175,90]) position %v is not newer than the earlier-emitted snapshot read (sequence [140,170]) %v", u.Position, r.Position)
	}

	// The unwrapped form with add.fields=lsn,sequence orders the same way;
	// without a committed LSN (null before the first commit, or no sequence
	// at all) the LSN alone is the position.
	for _, tc := range []struct {
		name, value string
		want        Position
	}{
		{"unwrapped", `{"id":1,"__op":"u","__source_lsn":90,"__source_sequence":"[\"175\",\"90\"]"}`, Position{Hi: 175, Lo: 90}},
		{"first commit not seen", `{"before":null,"after":{"id":1},"source":{"connector":"postgresql","lsn":36313560,"sequence":"[null,\"36313560\"]"},"op":"r"}`, Position{Hi: 36313560}},
		{"no sequence", `{"before":null,"after":{"id":1},"source":{"connector":"postgresql","lsn":90},"op":"u"}`, Position{Hi: 90}},
		{"malformed sequence", `{"before":null,"after":{"id":1},"source":{"connector":"postgresql","lsn":90,"sequence":"[1,"},"op":"u"}`, Position{Hi: 90}},
	} {
		ch, err := d.Decode([]byte(`{"id":1}`), []byte(tc.value))
		if err != nil || ch.Position != tc.want {
			t.Errorf("%s: position %v, %v; want %v", tc.name, ch.Position, err, tc.want)
		}
	}
}

// PostgreSQL logical decoding messages (pg_logical_emit_message) are
// emitted by Debezium as op "m" events with a "message" block
// {prefix, content} and no before/after (PostgreSQL connector documentation,
// "Logical decoding message events"; they go to <topic.prefix>.message, or to
// any topic a router sends them to). They are valid Debezium records that
// carry no row, like heartbeats and transaction metadata, but the decoder
// would call them malformed ("unknown op \"m\""), so each one would be a dead
// letter (and stops the consumer with errors.tolerance none) unless read
// as a kind of its own.
func TestLogicalMessageOp(t *testing.T) {
	d := mustDecoder(t, Options{})
	value := `{"op":"m","ts_ms":1681879044000,"source":{"version":"2.7.0.Final","connector":"postgresql","name":"s",` +
		`"ts_ms":1681879043000,"snapshot":"false","db":"db","schema":"","table":"","txId":null,"lsn":346009248},` +
		`"message":{"prefix":"foo","content":"Ymfy"}}`
	ch, err := d.Decode(nil, []byte(value))
	if err != nil {
		t.Fatalf("a logical decoding message is not malformed: %v", err)
	}
	if ch.Before != nil || ch.After != nil || (ch.Kind == KindChange && ch.Op.writesRow()) {
		t.Fatalf("a logical decoding message must not be applied as a row change: %+v", ch)
	}
}
