package query_test

import "testing"

// The tests here write one item through the engine into four views of the
// same fields (crossStoreYAML) and read it back every way (crossStoreDocs):
// a reader gets the same document whichever store answers, as the engine
// wrote it.

// TestByteaSameFromEveryStore: a bytea field is base64 in the doc the
// engine makes (Redis and Elasticsearch hold "AQI=", the bytes 01 02);
// read from PostgreSQL, whose column holds those bytes, the same doc
// carries the same text, not to_jsonb's hex "\\x0102".
func TestByteaSameFromEveryStore(t *testing.T) {
	s := crossStoreItem(t, row{"bin": "AQI="})
	all := crossStoreDocs(t, s)
	sameEverywhere(t, all, "bin")
	if got := jsonText(all["get (PostgreSQL)"]["bin"]); got != `"AQI="` {
		t.Errorf("bin from PostgreSQL reads %s, want \"AQI=\"", got)
	}
}

// TestDecimalArraySameFromEveryStore: a numeric(10,2)[] field is an array
// of numbers of exact digits from every store, as the OpenAPI schema says
// and as a top-level numeric reads: [1.50,2.00], not the engine's strings
// ["1.50","2.00"] that Redis and Elasticsearch hold.
func TestDecimalArraySameFromEveryStore(t *testing.T) {
	s := crossStoreItem(t, row{"nums": []any{1.5, 2}})
	all := crossStoreDocs(t, s)
	sameEverywhere(t, all, "nums")
	if got := jsonText(all["get (Redis JSON)"]["nums"]); got != `[1.50,2.00]` {
		t.Errorf("nums from Redis reads %s, want [1.50,2.00]", got)
	}
}

// TestEmbeddedDecimalSameFromEveryStore: a numeric inside an embedded
// object (user.balance) reads 7.50 from every store, as the OpenAPI schema
// says (a number); PostgreSQL's jsonb holds the engine's "7.50".
func TestEmbeddedDecimalSameFromEveryStore(t *testing.T) {
	s := crossStoreItem(t, row{"price": 1})
	all := crossStoreDocs(t, s)
	sameEverywhere(t, all, "user", "balance")
	sameEverywhere(t, all, "user")
	user, _ := all["get (PostgreSQL)"]["user"].(map[string]any)
	if got := jsonText(user["balance"]); got != `7.50` {
		t.Errorf("user.balance from PostgreSQL reads %s, want 7.50", got)
	}
}

// TestHashNullFieldReadsNull: a null field is null from PostgreSQL, Redis
// JSON and Elasticsearch; a Redis hash leaves null fields out, and the get
// still reads "n": null (and null embedded values), not a missing field.
func TestHashNullFieldReadsNull(t *testing.T) {
	s := crossStoreItem(t, row{"n": nil, "price": 1})
	all := crossStoreDocs(t, s)
	for _, f := range []string{"n", "meta", "nums", "bin", "day"} {
		sameEverywhere(t, all, f)
	}
	if v, ok := all["get (Redis hash)"]["n"]; !ok || v != nil {
		t.Errorf("n from a Redis hash: %v (present %v), want null", v, ok)
	}
}

// TestHashJSONBStringStaysString: a jsonb field holding the JSON string
// "123" reads "123" everywhere; from a Redis hash it does not turn into the
// number 123 (the sink writes a jsonb value as JSON text, "\"123\"").
func TestHashJSONBStringStaysString(t *testing.T) {
	s := crossStoreItem(t, row{"meta": `"123"`})
	all := crossStoreDocs(t, s)
	sameEverywhere(t, all, "meta")
	if got := jsonText(all["get (Redis hash)"]["meta"]); got != `"123"` {
		t.Errorf("meta from a Redis hash reads %s, want \"123\"", got)
	}
}

// TestHashJSONBObjectSameFromEveryStore: a jsonb object reads the same
// from every store, a Redis hash included.
func TestHashJSONBObjectSameFromEveryStore(t *testing.T) {
	s := crossStoreItem(t, row{"meta": `{"a":[1,"x"],"b":null}`})
	sameEverywhere(t, crossStoreDocs(t, s), "meta")
}
