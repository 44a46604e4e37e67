package debezium

import (
	"encoding/json"
	"testing"
)

// TestR33dMongoUnwrappedDateIsMilliseconds: ExtractNewDocumentState turns
// a BSON date into epoch MILLISECONDS (debezium-connector-mongodb
// MongoDataConverter: DATE_TIME → asDateTime().getValue(), an INT64 /
// Connect Timestamp, which JsonConverter without schemas writes as the
// number 1746034410610). A MongoDB date is always milliseconds; the
// PostgreSQL connector's adaptive units (microseconds for timestamp, epoch
// days for date) do not apply to it.
//
// The README (MongoDB) says a $date reads as RFC 3339, "in a column declared
// date or time, that type of the instant in UTC", and that the SMT's output
// is read with the same declared columns. The envelope form of this
// document does so: born 2025-04-30T17:33:30.61Z / 2025-04-30. The
// unwrapped form of the same document, from a record the decoder itself
// recognises as MongoDB (__collection, __source_ord: it keys it as
// MongoDB's), reads the milliseconds in PostgreSQL's adaptive units
// instead: under `timestamp` as microseconds (1970-01-21T05:00:34.41061Z,
// a wrong value silently stored), under `date` as epoch days (malformed:
// the document is dead-lettered).
func TestR33dMongoUnwrappedDateIsMilliseconds(t *testing.T) {
	const oid = "6811137d0c9f202a34d861e0"
	envKey := []byte(`{"id":"{\"$oid\": \"` + oid + `\"}"}`)
	env := mongoValue("c", `{"_id": {"$oid": "`+oid+`"}, "born": {"$date": 1746034410610}}`, "", "", "")
	unwKey := []byte(`{"id":"` + oid + `"}`)
	unw := []byte(`{"_id":"` + oid + `","born":1746034410610,"__op":"c","__collection":"users","__source_ts_ms":1700000000000,"__source_ord":1}`)
	for _, typ := range []string{"timestamp", "timestamp(6)", "date"} {
		d := mustDecoder(t, Options{Columns: map[string]string{"born": typ}})
		want, err := d.Decode(envKey, env)
		if err != nil {
			t.Fatalf("%s: envelope: %v", typ, err)
		}
		got, err := d.Decode(unwKey, unw)
		if err != nil {
			t.Errorf("%s: the unwrapped document is refused (dead-lettered): %v; the envelope reads born %s",
				typ, err, R33dJSON(want.After["born"]))
			continue
		}
		if g, w := R33dJSON(got.After["born"]), R33dJSON(want.After["born"]); g != w {
			t.Errorf("%s: unwrapped born %s, the envelope of the same document %s (epoch ms %d)", typ, g, w, int64(1746034410610))
		}
	}
}

func R33dJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestMongoUnwrappedTimeAndArrays: after ExtractNewDocumentState, a MongoDB
// date under a column declared time is the instant's UTC time of day, and
// the elements of a timestamptz[] are epoch milliseconds too; a
// PostgreSQL row of the same shape keeps the PostgreSQL connector's units.
func TestMongoUnwrappedTimeAndArrays(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{"at": "time", "seen": "timestamptz[]", "born": "timestamp"}})
	mongo := []byte(`{"_id":"6811137d0c9f202a34d861e0","at":1746034410610,"seen":[1746034410610,0],"__collection":"users","__source_ord":1}`)
	ch, err := d.Decode([]byte(`{"id":"6811137d0c9f202a34d861e0"}`), mongo)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := R33dJSON(ch.After["at"]), `"17:33:30.610000"`; got != want {
		t.Errorf("time: %s, want %s", got, want)
	}
	if got, want := R33dJSON(ch.After["seen"]), `["2025-04-30T17:33:30.61Z","1970-01-01T00:00:00Z"]`; got != want {
		t.Errorf("timestamptz[]: %s, want %s", got, want)
	}
	pg := []byte(`{"id":1,"born":1746034410610123,"__table":"users","__lsn":5}`)
	ch, err = d.Decode([]byte(`{"id":1}`), pg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := R33dJSON(ch.After["born"]), `"2025-04-30T17:33:30.610123Z"`; got != want {
		t.Errorf("a PostgreSQL row's timestamp: %s, want %s (microseconds)", got, want)
	}
}
