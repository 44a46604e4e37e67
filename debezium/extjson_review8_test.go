package debezium

import (
	"errors"
	"strings"
	"testing"
)

// Input: a MongoDB change event whose document holds the canonical
// Extended JSON double {"$numberDouble": "-0.0"} (the BSON corpus,
// double.json "-0.0", canonical_extjson).
// README "What it decodes": "a float's `-0` reads as `0`, as PostgreSQL's
// jsonb gives it". The relaxed form (-0.0) does read 0 (floatFromLiteral,
// logical.go:75), but unwrapOne's $numberDouble (extjson.go:270) returns
// strconv.ParseFloat's -0 as it is, so the document carries -0 to every
// store (jsonb shows 0, Redis/Elasticsearch -0).
func TestReview8CanonicalNegativeZeroDouble(t *testing.T) {
	d := mustDecoder(t, Options{})
	ch, err := d.Decode(nil, mongoValue("c", `{"_id": 1, "x": {"$numberDouble": "-0.0"}}`, "", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, Exact(ch.After), `{"_id":1,"x":0}`)
}

// Input: {"$numberDecimal": "-NaN"}.
// The BSON corpus (decimal128-1.json, "Special - Negative NaN",
// degenerate_extjson "-NaN") gives the canonical value "NaN"; the
// Extended JSON spec ("Representation of Non-finite Numeric Values"):
// "NaN (all variants) | NaN"; README: MongoDB's $numberDecimal NaN reads
// as "NaN". extjson.go:281-282 accepts "-NaN" but only trims a "+", so a
// document outside a declared numeric column keeps the string "-NaN"
// (inside one, declaredNonFinite gives "NaN": the same value reads two ways).
func TestReview8DecimalNegativeNaN(t *testing.T) {
	v, err := ParseExtendedJSON([]byte(`{"d": {"$numberDecimal": "-NaN"}}`))
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, v, `{"d":"NaN"}`)
}

// Input: $numberDecimal strings the BSON corpus (decimal128-1.json,
// "Non-Canonical Parsing - ...") lists as valid degenerate_extjson, with
// the canonical value each must parse to. extjson.go:280-286 accepts only
// the exact canonical special strings and rejects a leading '+', a
// leading '.', and more than 100 characters, so these documents are dead
// letters.
func TestReview8DegenerateDecimal128Rejected(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"+1234567890123456789012345678901234", `"1234567890123456789012345678901234"`}, // Positive Sign
		{"inf", `"Infinity"`},       // inf
		{"-inf", `"-Infinity"`},     // -inf
		{"+infinity", `"Infinity"`}, // +infinity
		{"infiniTY", `"Infinity"`},  // infiniTY
		{"nan", `"NaN"`},            // nan
		{"." + strings.Repeat("0", 998) + "1", `"0.` + strings.Repeat("0", 998) + `1"`}, // Long Decimal String (= 1E-999)
	} {
		t.Run(tt.in[:min(len(tt.in), 12)], func(t *testing.T) {
			v, err := ParseExtendedJSON([]byte(`{"$numberDecimal": "` + tt.in + `"}`))
			if err != nil {
				t.Fatalf("valid per the BSON corpus, refused: %v", err)
			}
			wantJSON(t, Exact(v), tt.want)
		})
	}
}

// Input: a MongoDB change event whose after (or updatedFields) is the
// Extended JSON text of a wrapper, not a document: {"$date": 0}.
// README: a malformed record is reported "naming what is wrong and where
// (`payload.after.price: …`)"; MalformedError.Path "names the field at
// fault". parseExtDoc (extjson.go:54) returns bad(...) without putting
// the error under p, so the error has no path at all.
func TestReview8WrapperDocumentErrorHasNoPath(t *testing.T) {
	d := mustDecoder(t, Options{})
	for _, tt := range []struct {
		name  string
		value []byte
		want  string
	}{
		{"after", mongoValue("c", `{"$date": 0}`, "", "", ""), "payload.after"},
		{"updatedFields", mongoValue("u", "", "", "", `{"updatedFields":"{\"$date\": 0}","removedFields":[]}`), "payload.updateDescription.updatedFields"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.Decode(nil, tt.value)
			var me *MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("err = %v, want a MalformedError", err)
			}
			if me.Path != tt.want {
				t.Errorf("error %q has path %q, want %q", err, me.Path, tt.want)
			}
		})
	}
}

// Input: a ~950 KB MongoDB record whose one field is a malformed
// {"$numberDecimal": "<950,000 characters>"}.
// The error quotes the whole value (extjson.go:286; likewise $numberLong,
// $numberInt, $numberDouble, $date, $uuid, binary subtype, and
// logical.go's "invalid UUID %q"/"invalid timestamp %q"). The error
// becomes the dead letter's projector.error header
// (projector/deadletter.go:35), which omitValue never shortens: the dead
// letter stays over the topic's max.message.bytes even without its value,
// and "a dead letter the topic refuses would stop the consumer for good"
// (projector/deadletter.go:17-20). The project bounds quoted values
// elsewhere (jsontext.go:26 cuts a number to 40 characters; typeName
// "without the value itself (it may be personal data)").
func TestReview8ErrorQuotesWholeValue(t *testing.T) {
	d := mustDecoder(t, Options{})
	huge := strings.Repeat("x", 950_000)
	_, err := d.Decode(nil, mongoValue("c", `{"_id": 1, "x": {"$numberDecimal": "`+huge+`"}}`, "", "", ""))
	if err == nil {
		t.Fatal("no error")
	}
	if n := len(err.Error()); n > 10_000 {
		t.Errorf("error message is %d bytes: it quotes the whole malformed value", n)
	}
}

// Input: {"$numberDouble": "1_000"} and {"$numberDouble": "0x1p-2"}.
// Extended JSON spec, Conversion table: Double [finite] is
// {"$numberDouble": <64-bit signed floating point as a decimal string>};
// "If the keys ... exactly match ... but any of the values are of an
// incorrect type, then the parser MUST report an error." extjson.go:270
// uses strconv.ParseFloat, which takes Go literal syntax: digit
// separators and hexadecimal floats, so these read silently as 1000 and 0.25.
func TestReview8NumberDoubleAcceptsGoSyntax(t *testing.T) {
	for _, in := range []string{`{"$numberDouble": "1_000"}`, `{"$numberDouble": "0x1p-2"}`} {
		v, err := ParseExtendedJSON([]byte(in))
		if err == nil {
			t.Errorf("%s read as %v, want an error (not a decimal string)", in, v)
		}
	}
}

// Input: {"x": {"$code": "", "$scope": 42}}.
// BSON corpus top.json parseErrors: "Bad $code with $scope (scope is
// number, not doc)"; spec Conversion table: CodeWScope is
// {"$code": string, "$scope": Document}. unwrapExt (extjson.go:206-211)
// checks only $code, so the malformed value is accepted.
func TestReview8CodeWithScopeNotDocumentAccepted(t *testing.T) {
	v, err := ParseExtendedJSON([]byte(`{"x" : {"$code" : "", "$scope" : 42}}`))
	if err == nil {
		t.Errorf("accepted as %v, want an error", v)
	}
}

// Input: {"$dbPointer": {"$ref": "db.c", "$id": "not-an-objectid"}}.
// Spec Conversion table: DBPointer is {"$dbPointer": {"$ref": <namespace
// as a string>, "$id": ObjectId}}, and a wrapper whose values have the
// wrong type "MUST report an error". extjson.go:342-348 checks only that
// $id is a string (an $oid has been unwrapped to one by then), so any
// string passes as the pointer's ObjectId.
func TestReview8DBPointerIDNotObjectIDAccepted(t *testing.T) {
	v, err := ParseExtendedJSON([]byte(`{"$dbPointer": {"$ref": "db.c", "$id": "not-an-objectid"}}`))
	if err == nil {
		t.Errorf("accepted as %v, want an error", v)
	}
}
