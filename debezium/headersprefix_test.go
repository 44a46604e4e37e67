package debezium

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestTombstoneHeadersWithCustomPrefix: a connector with
// add.headers.prefix=meta_ names the delete's op and position meta_op,
// meta_lsn (meta_source_ts_ms, meta_source_ord for MongoDB). Read with
// Options.HeadersPrefix, such a tombstone is the delete at that position;
// headers of the default prefix are then nobody's and leave it a
// tombstone.
func TestTombstoneHeadersWithCustomPrefix(t *testing.T) {
	opts := Options{HeadersPrefix: "meta_"}
	tests := []struct {
		name    string
		key     string
		headers []Header
		want    string
		pos     Position
	}{
		{"postgres", `{"id":7}`, headers("meta_op", "d", "meta_lsn", "33832960", "meta_table", "orders"),
			`{"kind":"change","op":"d","source":{"table":"orders","lsn":33832960},"key":{"id":7},"before":{},"after":null}`,
			Position{Hi: 33832960}},
		{"mongodb", `{"id":"{\"$oid\": \"63e3a3bf314a4076d249e203\"}"}`,
			headers("meta_op", "d", "meta_source_ts_ms", "1700000000999", "meta_source_ord", "3"),
			`{"kind":"change","op":"d","source":{"ts_ms":1700000000999,"ord":3},"key":{"_id":"63e3a3bf314a4076d249e203"},"before":{},"after":null}`,
			Position{Hi: 1700000000, Lo: 3}},
		{"default prefix is not the connector's", `{"id":7}`, headers("__op", "d", "__lsn", "33832960"),
			`{"kind":"tombstone","key":{"id":7}}`, Position{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := mustDecoder(t, opts).DecodeRecord([]byte(tt.key), nil, tt.headers)
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

// TestTombstoneHeaderWithCustomPrefixNotANumber: the prefixed position
// header is held to the same rule as __lsn, and named as sent.
func TestTombstoneHeaderWithCustomPrefixNotANumber(t *testing.T) {
	d := mustDecoder(t, Options{HeadersPrefix: "meta_"})
	_, err := d.DecodeRecord([]byte(`{"id":7}`), nil, headers("meta_op", "d", "meta_lsn", "0/1A2B"))
	assertMalformed(t, err)
	if want := `header meta_lsn: expected an integer, not "0/1A2B"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want it to say %q", err, want)
	}
}

// TestFieldsPrefixTakesTheMetadataOut: with add.fields.prefix=meta_ the
// SMT's members are meta_op, meta_lsn, meta_deleted...: they give the op
// and the position and leave the row, while a column that merely starts
// with the prefix (meta_note), or with the default one (__op, which this
// SMT never writes), stays a column.
func TestFieldsPrefixTakesTheMetadataOut(t *testing.T) {
	pre := metaPrefix("meta_")
	p := path{name: "payload"}
	tests := []struct {
		name   string
		row    map[string]any
		op     Op
		before string
		after  string
		pos    Position
		hint   keyHint
	}{
		{"postgres update",
			map[string]any{"id": int64(1), "meta_op": "u", "meta_lsn": int64(500), "meta_table": "t", "meta_note": "x", "__op": "c"},
			OpUpdate, `null`, `{"__op":"c","id":1,"meta_note":"x"}`, Position{Hi: 500}, keyRelational},
		{"delete rewrite",
			map[string]any{"id": int64(1), "v": "a", "meta_deleted": "true", "meta_lsn": int64(600)},
			OpDelete, `{"id":1,"v":"a"}`, `null`, Position{Hi: 600}, keyRelational},
		{"mongodb",
			map[string]any{"_id": "u1", "name": "n", "meta_op": "c", "meta_collection": "users", "meta_source_ts_ms": int64(1700000000999), "meta_source_ord": int64(3)},
			OpCreate, `null`, `{"_id":"u1","name":"n"}`, Position{Hi: 1700000000, Lo: 3}, keyMongoUnwrapped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, hint, err := pre.change(tt.row, nil, &p)
			if err != nil {
				t.Fatal(err)
			}
			if ch.Op != tt.op || hint != tt.hint {
				t.Errorf("op %v hint %v, want %v %v", ch.Op, hint, tt.op, tt.hint)
			}
			wantJSON(t, ch.Before, tt.before)
			wantJSON(t, ch.After, tt.after)
			wantPos(t, ch, tt.pos)
		})
	}
}
