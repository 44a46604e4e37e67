package debezium

import (
	"testing"
)

// TestR33dMongoStrictAfterBareNonFiniteDouble: the MongoDB connector writes
// `after` (and `before`, `patch`) with the Java driver's JsonMode.STRICT
// (debezium-connector-mongodb JsonSerialization.COMPACT_JSON_SETTINGS =
// JsonWriterSettings.builder().outputMode(JsonMode.STRICT); the 2.7 sample
// update_full_document_schemaless_2_7 shows STRICT's {"$date": <millis>}).
// In STRICT mode a BSON double goes through org.bson.json.JsonDoubleConverter,
// which is writer.writeNumber(Double.toString(value)): a double NaN or
// infinity is written as the bare tokens NaN, Infinity, -Infinity (only
// EXTENDED/RELAXED wrap them as {"$numberDouble": "NaN"}). A MongoDB
// document holding such a double is legal, so these are genuine records.
//
// The decoder's Extended JSON reader accepts only JSON numbers, so the
// whole change is malformed ("payload.after.x: invalid JSON number") and
// the document goes to the dead-letter topic: the view never sees it. The
// value must read as the {"$numberDouble": "NaN"} form does (the README:
// non-finite floats are the strings "NaN", "Infinity", "-Infinity").
func TestR33dMongoStrictAfterBareNonFiniteDouble(t *testing.T) {
	d := mustDecoder(t, Options{})
	for _, tc := range []struct{ token, want string }{
		{"NaN", "NaN"}, {"Infinity", "Infinity"}, {"-Infinity", "-Infinity"},
	} {
		// The same document, relaxed/canonical, reads fine:
		wrapped, err := d.Decode(nil, mongoValue("c", `{"_id": 1, "x": {"$numberDouble": "`+tc.token+`"}}`, "", "", ""))
		if err != nil || wrapped.After["x"] != tc.want {
			t.Fatalf("%s: the $numberDouble form reads %v (%v), want %q", tc.token, wrapped.After["x"], err, tc.want)
		}
		// ... and as the connector writes it (STRICT):
		ch, err := d.Decode([]byte(`{"id":"1"}`), mongoValue("c", `{"_id": 1, "x": `+tc.token+`, "n": "a"}`, "", "", ""))
		if err != nil {
			t.Errorf("%s: STRICT after {\"x\": %s} is refused: %v (the document is dead-lettered)", tc.token, tc.token, err)
			continue
		}
		if ch.After["x"] != tc.want || ch.After["n"] != "a" {
			t.Errorf("%s: after %v, want x %q and n \"a\"", tc.token, ch.After, tc.want)
		}
	}
}
