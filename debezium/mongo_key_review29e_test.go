package debezium

import (
	"testing"
)

const r29eUpperUUID = "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"
const r29eLowerUUID = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"

// TestR29eMongoHeaderDeleteKeyNotCanonical: README, MongoDB: declared types
// hold "a uuid, in lower case as the other connectors give it, in the key
// as well". After ExtractNewDocumentState, the create of a document whose
// _id is declared uuid has the key {"_id": <lower case>} (Decode applies
// mongoKeyHints). The delete of the same document under the SMT's
// tombstone mode with add.headers=op,source.ts_ms,source.ord (DecodeRecord)
// re-reads the key as MongoDB's but never applies the declared types: its
// key is the upper-case text, another row, so the document is never
// deleted. The rewritten delete ({"__deleted": "true"}) gets it right.
func TestR29eMongoHeaderDeleteKeyNotCanonical(t *testing.T) {
	d := mustDecoder(t, Options{Format: FormatUnwrapped, Columns: map[string]string{"_id": "uuid"}})
	key := []byte(`{"id":"` + r29eUpperUUID + `"}`)
	create, err := d.Decode(key, []byte(`{"_id":"`+r29eUpperUUID+`","n":1,"__op":"c","__source_ts_ms":1700000000000,"__source_ord":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if create.Key["_id"] != r29eLowerUUID {
		t.Fatalf("create key %v, want _id %s", create.Key, r29eLowerUUID)
	}
	del, err := d.DecodeRecord(key, nil, []Header{
		{Key: "__op", Value: []byte("d")},
		{Key: "__source_ts_ms", Value: []byte("1700000001000")},
		{Key: "__source_ord", Value: []byte("1")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if del.Kind != KindChange || del.Op != OpDelete {
		t.Fatalf("kind %v op %v, want a delete", del.Kind, del.Op)
	}
	if del.Key["_id"] != create.Key["_id"] {
		t.Errorf("delete key %v, create key %v: the delete names another document", del.Key, create.Key)
	}
}

// TestR29eAvroMongoUnwrappedKeyNotCanonical: the same declared uuid _id in
// Avro (ExtractNewDocumentState with AvroConverter): decodeAvro applies
// mongoKeyHints only to an envelope (keyMongo), not to an unwrapped
// document (keyMongoUnwrapped), so the key keeps the upper-case text while
// the row's own _id, read through the column hint, is lower case; the JSON
// form of the same record gives the lower-case key.
func TestR29eAvroMongoUnwrappedKeyNotCanonical(t *testing.T) {
	const keySchema = `{"type":"record","name":"Key","namespace":"m.shop.users","fields":[{"name":"id","type":"string"}]}`
	const valueSchema = `{"type":"record","name":"Value","namespace":"m.shop.users","connect.name":"m.shop.users.Value","fields":[
	  {"name":"_id","type":"string"},
	  {"name":"n","type":["null","long"],"default":null},
	  {"name":"__op","type":["null","string"],"default":null},
	  {"name":"__source_ts_ms","type":["null","long"],"default":null},
	  {"name":"__source_ord","type":["null","int"],"default":null}]}`
	d := mustDecoder(t, Options{Format: FormatAvro, Columns: map[string]string{"_id": "uuid"}})
	if err := d.AddAvroSchema(1, keySchema); err != nil {
		t.Fatal(err)
	}
	if err := d.AddAvroSchema(2, valueSchema); err != nil {
		t.Fatal(err)
	}
	key := frame(1, avroEncode(t, keySchema, map[string]any{"id": r29eUpperUUID}))
	value := frame(2, avroEncode(t, valueSchema, map[string]any{"_id": r29eUpperUUID, "n": map[string]any{"long": int64(1)},
		"__op": map[string]any{"string": "c"}, "__source_ts_ms": map[string]any{"long": int64(1700000000000)}, "__source_ord": map[string]any{"int": 1}}))
	ch, err := d.Decode(key, value)
	if err != nil {
		t.Fatal(err)
	}
	if ch.After["_id"] != r29eLowerUUID {
		t.Fatalf("after._id %v, want %s", ch.After["_id"], r29eLowerUUID)
	}
	if ch.Key["_id"] != r29eLowerUUID {
		t.Errorf("key %v, want _id %s as the row's own _id", ch.Key, r29eLowerUUID)
	}
}
