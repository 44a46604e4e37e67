package debezium

import (
	"strconv"
)

// Header is one Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// DecodeRecord decodes one record as Decode does, and reads a tombstone
// that ExtractNewRecordState made of a delete as that delete.
//
// With delete.tombstone.handling.mode=tombstone (the SMT's default since
// Debezium 2.5) a delete reaches Kafka only as a tombstone. add.headers
// copies the envelope's fields into that record's headers before the SMT
// drops its value ("__op": "d", "__lsn" or "__source_lsn", and for
// MongoDB "__source_ts_ms" and "__source_ord"), so such a tombstone tells
// which row went and when: it is a delete at that position, ordered
// against every other change of the row as the rewritten delete would be.
// A tombstone without them says nothing of when: it stays a tombstone (a
// compaction marker), which is also what Debezium's own tombstones after
// a rewritten delete are (their "__op" header comes without a position).
// The headers are named with Options.HeadersPrefix ("__" by default).
func (d *Decoder) DecodeRecord(key, value []byte, headers []Header) (Change, error) {
	ch, err := d.Decode(key, value)
	if err != nil || ch.Kind != KindTombstone || len(headers) == 0 {
		return ch, err
	}
	m := map[string]any{}
	for _, h := range headers {
		meta, ok := d.headers.metadataName(h.Key)
		if !ok {
			continue
		}
		v := string(h.Value)
		switch meta {
		case "lsn", "txId", "source_ts_ms", "ord", "sec":
			// SimpleHeaderConverter writes a number as its decimal text.
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				p := path{name: "header " + h.Key}
				return Change{}, malformed(&p, "expected an integer, not %s", brief(h.Value))
			}
			m[h.Key] = n
		default:
			m[h.Key] = v
		}
	}
	if op, _ := m[string(d.headers)+"op"].(string); op != OpDelete.String() {
		return ch, nil
	}
	p := path{name: "headers"}
	del, hint, err := d.headers.change(m, nil, &p)
	if err != nil {
		return Change{}, err
	}
	if del.Position == (Position{}) {
		return ch, nil // no position: a compaction marker
	}
	if hint == keyMongoUnwrapped {
		// The key of a MongoDB document reads as {"id": …} only once the
		// record is known to be MongoDB's.
		if ch.Key, err = d.avroKey(key, hint); err != nil {
			return Change{}, err
		}
	}
	del.Key = ch.Key
	if hint == keyMongoUnwrapped {
		// As Decode holds a MongoDB key to the declared types: the
		// create's key read a declared uuid in lower case, and the
		// delete must name the same document.
		if err := d.mongoKeyHints(&del); err != nil {
			return Change{}, err
		}
	}
	del.Before = map[string]any{}
	return del, nil
}
