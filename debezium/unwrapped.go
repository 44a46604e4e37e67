package debezium

import (
	"slices"
	"strings"
)

// metaPrefix starts the metadata members ExtractNewRecordState and
// ExtractNewDocumentState add to a row (add.fields.prefix) or to a
// record's headers (add.headers.prefix): "__" unless the connector says
// otherwise. It is how a member added by the SMT is told from a column.
type metaPrefix string

// defaultPrefix is the SMT's own default for both prefixes.
const defaultPrefix metaPrefix = "__"

// readUnwrapped decodes the output of ExtractNewRecordState (PostgreSQL)
// or ExtractNewDocumentState (MongoDB): the row itself plus metadata
// members added by add.fields, named pre+"op", pre+"deleted",
// pre+"table", pre+"lsn", pre+"source_ts_ms", ... ("__op" with the
// default prefix). The metadata members are removed from the row and
// fill Source, Position and Op:
//
//   - "__deleted": "true" (the delete rewrite) → OpDelete, Before = the row;
//   - otherwise "__op" gives the op ("d" also puts the row in Before);
//   - with neither, the record says only that the row now looks like this:
//     it is an upsert, reported as OpUpdate.
func (st *dec) readUnwrapped(row *codec, pre metaPrefix, p *path) (Change, keyHint, error) {
	if tok := st.s.peek(); tok != '{' {
		return Change{}, 0, under(st.unexpected("an object (the unwrapped row)", tok), p)
	}
	var unchanged []string
	m, err := st.object(row, 0, &unchanged)
	if err != nil {
		return Change{}, 0, under(err, p)
	}
	return pre.change(m, unchanged, p)
}

// change turns a decoded unwrapped row into a Change, taking the metadata
// members (those named with the prefix pre) out of it.
func (pre metaPrefix) change(m map[string]any, unchanged []string, p *path) (Change, keyHint, error) {
	var (
		err           error
		src           Source
		op            = OpUpdate
		hasOp         bool
		deleted       bool
		sec           *int64
		mongoEvidence bool
	)
	for name, v := range m {
		meta, ok := pre.metadataName(name)
		if !ok {
			continue
		}
		delete(m, name)
		fp := p.field(name)
		switch meta {
		case "op":
			s, ok := v.(string)
			if !ok {
				return Change{}, 0, malformed(&fp, "expected a string")
			}
			if op, err = ParseOp(s); err != nil {
				return Change{}, 0, malformed(&fp, "unknown op %q", s)
			}
			hasOp = true
		case "deleted":
			switch v {
			case "true", true:
				deleted = true
			case "false", false, nil:
			default:
				return Change{}, 0, malformed(&fp, `expected "true" or "false"`)
			}
		case "table":
			err = metaString(v, &src.Table, &fp)
		case "collection":
			err = metaString(v, &src.Collection, &fp)
			mongoEvidence = true
		case "db":
			err = metaString(v, &src.DB, &fp)
		case "schema":
			err = metaString(v, &src.Schema, &fp)
		case "connector":
			err = metaString(v, &src.Connector, &fp)
		case "name":
			err = metaString(v, &src.Name, &fp)
		case "snapshot":
			switch v {
			case "false", false, nil:
			case true:
				src.Snapshot = "true"
			default:
				err = metaString(v, &src.Snapshot, &fp)
			}
		case "lsn":
			src.LSN, err = metaInt(v, &fp)
		case "sequence":
			if seq, ok := v.(string); ok {
				if n, ok := commitLSN([]byte(seq)); ok {
					src.CommitLSN = &n
				}
			}
		case "txId":
			src.TxID, err = metaInt(v, &fp)
		case "source_ts_ms":
			src.TsMs, err = metaInt(v, &fp)
		case "ord":
			src.Ord, err = metaInt(v, &fp)
			mongoEvidence = true
		case "sec":
			sec, err = metaInt(v, &fp)
			mongoEvidence = true
		case "rs":
			mongoEvidence = true
		}
		if err != nil {
			return Change{}, 0, err
		}
	}
	mongo := src.Connector == "mongodb" || mongoEvidence
	if mongo && src.Table != "" && src.Collection == "" {
		src.Collection, src.Table = src.Table, ""
	}
	ch := Change{Kind: KindChange, Op: op, Source: src}
	switch {
	case deleted || (hasOp && op == OpDelete):
		ch.Op = OpDelete
		ch.Before = m
	case op == OpTruncate:
	default:
		ch.After = m
		if len(unchanged) > 0 {
			slices.Sort(unchanged)
			ch.Unchanged = slices.Compact(unchanged)
		}
	}
	hint := keyRelational
	if mongo {
		hint = keyMongoUnwrapped
		switch {
		case sec != nil:
			ch.Position.Hi = *sec
		case src.TsMs != nil:
			ch.Position.Hi = *src.TsMs / 1000
		}
		if src.Ord != nil {
			ch.Position.Lo = *src.Ord
		}
	} else {
		ch.Position = relationalPosition(&src)
		if hasOp && op == OpRead && src.Snapshot == "" && src.CommitLSN == nil && src.LSN != nil {
			// add.fields named op but not source.snapshot: the read is an
			// initial (or blocking) snapshot's, positioned as the envelope
			// would be. An incremental one names itself only in
			// __snapshot.
			ch.Position.Lo = SnapshotLo
		}
		if _, ok := m["_id"]; ok {
			hint = keyMaybeMongo
		}
	}
	return ch, hint, nil
}

// metadataName recognises a member added by the SMT and returns the name of
// the field it copies: "__op" → "op", "__source_lsn" → "lsn",
// "__source_ts_ms" → "source_ts_ms" (the envelope's own ts_ms stays apart).
// User columns that merely start with the prefix are kept.
// SMTMember reports whether a member named name of an unwrapped record is
// one the SMT adds under prefix (its add.fields.prefix), and so never a
// column: __op, __lsn, __source_ts_ms and the like.
func SMTMember(prefix, name string) bool {
	_, ok := metaPrefix(prefix).metadataName(name)
	return ok
}

func (pre metaPrefix) metadataName(name string) (string, bool) {
	if !strings.HasPrefix(name, string(pre)) {
		return "", false
	}
	n := name[len(pre):]
	if strings.HasPrefix(n, "source_") {
		n = n[len("source_"):]
		if n == "ts_ms" {
			return "source_ts_ms", true
		}
		return n, true
	}
	if strings.HasPrefix(n, "transaction_") {
		return n, true
	}
	switch n {
	case "op", "deleted", "table", "lsn", "db", "schema", "collection", "ts_ms", "ts_us", "ts_ns",
		"txId", "snapshot", "connector", "name", "version", "sequence", "xmin", "ord", "rs",
		"wallTime", "sec", "ns", "h", "lsid", "txnNumber":
		return n, true
	}
	return "", false
}

func metaString(v any, dst *string, p *path) error {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		*dst = v
		return nil
	}
	return malformed(p, "expected a string")
}

func metaInt(v any, p *path) (*int64, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case int64:
		return &v, nil
	}
	return nil, malformed(p, "expected an integer")
}
