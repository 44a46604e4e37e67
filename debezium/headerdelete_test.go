package debezium

import (
	"encoding/json"
	"strings"
	"testing"
)

func headers(kv ...string) []Header {
	var hs []Header
	for i := 0; i < len(kv); i += 2 {
		hs = append(hs, Header{Key: kv[i], Value: []byte(kv[i+1])})
	}
	return hs
}

// TestTombstoneWithHeadersIsADelete: with
// delete.tombstone.handling.mode=tombstone and add.headers, the SMT turns
// a delete into a tombstone carrying the envelope's op and position as
// headers (SimpleHeaderConverter: numbers as decimal text). Such a
// tombstone is the delete, positioned; one without a position is only a
// compaction marker.
func TestTombstoneWithHeadersIsADelete(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		key     string
		value   string
		headers []Header
		want    string
		pos     Position
	}{
		{"postgres lsn", Options{}, `{"id":7}`, ``, headers("__op", "d", "__lsn", "33832960", "__table", "orders"),
			`{"kind":"change","op":"d","source":{"table":"orders","lsn":33832960},"key":{"id":7},"before":{},"after":null}`,
			Position{Hi: 33832960}},
		{"postgres source.lsn and sequence", Options{Format: FormatUnwrapped}, `{"id":7}`, `null`,
			headers("__op", "d", "__source_lsn", "200", "__source_sequence", `["150","200"]`),
			`{"kind":"change","op":"d","source":{"lsn":200,"commit_lsn":150},"key":{"id":7},"before":{},"after":null}`,
			Position{Hi: 200, Lo: 200}},
		{"mongodb", Options{}, `{"id":"{\"$oid\": \"63e3a3bf314a4076d249e203\"}"}`, ``,
			headers("__op", "d", "__source_ts_ms", "1700000000999", "__source_ord", "3"),
			`{"kind":"change","op":"d","source":{"ts_ms":1700000000999,"ord":3},"key":{"_id":"63e3a3bf314a4076d249e203"},"before":{},"after":null}`,
			Position{Hi: 1700000000, Lo: 3}},
		{"op header without a position (after a rewritten delete)", Options{}, `{"id":7}`, ``, headers("__op", "d"),
			`{"kind":"tombstone","key":{"id":7}}`, Position{}},
		{"no headers of the SMT", Options{}, `{"id":7}`, ``, headers("traceparent", "00-abc", "lsn", "5"),
			`{"kind":"tombstone","key":{"id":7}}`, Position{}},
		{"a position without a delete op", Options{}, `{"id":7}`, ``, headers("__lsn", "5"),
			`{"kind":"tombstone","key":{"id":7}}`, Position{}},
		{"headers on a change are not read", Options{}, `{"id":7}`, `{"id":7,"v":1,"__op":"u","__lsn":9}`, headers("__op", "d", "__lsn", "10"),
			`{"kind":"change","op":"u","source":{"lsn":9},"key":{"id":7},"before":null,"after":{"id":7,"v":1}}`, Position{Hi: 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := mustDecoder(t, tt.opts).DecodeRecord([]byte(tt.key), []byte(tt.value), tt.headers)
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

// TestTombstoneHeaderNotANumber: a position header that is not a number
// is a malformed record (dead-lettered), not a tombstone skipped.
func TestTombstoneHeaderNotANumber(t *testing.T) {
	_, err := mustDecoder(t, Options{}).DecodeRecord([]byte(`{"id":7}`), nil, headers("__op", "d", "__lsn", "0/1A2B"))
	assertMalformed(t, err)
	if want := `header __lsn: expected an integer, not "0/1A2B"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want it to say %q", err, want)
	}
}
