package debezium

import (
	"bytes"
	"slices"
)

// keyHint passes what the value revealed about the record to the key decoder.
type keyHint uint8

const (
	keyUnknown        keyHint = iota // a tombstone: nothing is known
	keyRelational                    // a PostgreSQL record
	keyMongo                         // a MongoDB record: the key's id is Extended JSON
	keyMongoUnwrapped                // a MongoDB document after ExtractNewDocumentState: the id as its value
	keyMaybeMongo                    // probably MongoDB (an unwrapped row with _id)
)

// decodeJSONValue decodes a JsonConverter value (schemas on or off).
func (d *Decoder) decodeJSONValue(value []byte) (Change, keyHint, error) {
	top := path{name: "value"}
	s := scanner{data: value}
	if tok := s.peek(); tok != '{' {
		return Change{}, 0, malformed(&top, "expected a JSON object, found %s", tokenName(tok))
	}
	// First pass: the member names (to tell a {"schema","payload"} wrapper
	// from a bare payload) and the spans of schema and payload. Containers
	// are only skimmed here; whatever is used is fully parsed below.
	role := roleValue
	if d.format == FormatUnwrapped {
		role = roleRow
	}
	t, firstErr := d.topMembers(&s, role)
	m, schemaRaw, payloadRaw := t.m, t.schemaRaw, t.payloadRaw
	if firstErr != nil {
		// Not a well-formed wrapper: parse the value as a bare payload, which
		// names the field at fault; fall back to the first error.
		m = members{}
	}

	pp := path{name: "payload"}
	var comp *compiled
	if m.count == 2 && m.schema && m.payload {
		if isNullValue(payloadRaw) {
			return Change{Kind: KindTombstone}, keyUnknown, nil
		}
		comp = t.schema
		if comp == nil && !isNullValue(schemaRaw) {
			sp := path{name: "schema"}
			var err error
			if comp, err = d.schema(schemaRaw, role, &sp); err != nil {
				return Change{}, 0, err
			}
		}
	} else {
		payloadRaw = value
	}

	f := formDetect
	switch {
	case comp != nil:
		f = comp.form
	case firstErr != nil:
		comp = d.plain
		f = formEnvelope // the parse below reports the error with its path
	default:
		comp = d.plain
		pm := m
		if payloadRaw[0] != '{' || len(payloadRaw) != len(value) {
			var err error
			if pm, err = memberNames(payloadRaw); err != nil {
				return Change{}, 0, malformed(&pp, "%v", err)
			}
		}
		f = pm.form()
	}
	switch d.format {
	case FormatUnwrapped:
		if f == formEnvelope && d.isTruncate(comp, payloadRaw, &pp) || f == formCloudEvent {
			break
		}
		f = formUnwrapped
	case FormatJSON:
		if f == formUnwrapped {
			return Change{}, 0, malformed(&pp, "not a Debezium envelope (no op field); use format unwrapped for ExtractNewRecordState output")
		}
	}

	st := &dec{s: scanner{data: payloadRaw}, strings: &d.strings}
	var (
		ch   Change
		hint = keyRelational
		err  error
	)
	switch f {
	case formEnvelope:
		ch, hint, err = d.envelope(st, comp, &pp)
	case formTransaction:
		ch, err = st.transaction(&pp)
	case formHeartbeat:
		ch, err = st.heartbeat(&pp)
	case formSchemaChange:
		ch, err = st.schemaChange(&pp)
	case formCloudEvent:
		err = errCloudEvent(&pp)
	default:
		row := comp.row
		if row == nil {
			row = d.plain.row
		}
		start := st.s.pos
		ch, hint, err = st.readUnwrapped(row, d.fields, &pp)
		if comp == d.plain && d.mongoPlain != nil && (err != nil || hint == keyMongoUnwrapped) {
			// Only the metadata members say a row is MongoDB's, and its
			// dates are milliseconds (mongoRowHints): read once more so.
			// A row the first reading refused (a date of days out of
			// range) is MongoDB's if the second says so.
			st.s.pos = start
			mch, mhint, merr := st.readUnwrapped(d.mongoPlain.row, d.fields, &pp)
			if merr == nil && mhint == keyMongoUnwrapped || err == nil && hint == keyMongoUnwrapped {
				ch, hint, err = mch, mhint, merr
			}
		}
	}
	if err != nil {
		return Change{}, 0, err
	}
	if err := st.s.end(); err != nil {
		return Change{}, 0, malformed(&pp, "%v", err)
	}
	if firstErr != nil {
		return Change{}, 0, malformed(&top, "%v", firstErr)
	}
	return ch, hint, nil
}

// top is the first look at a JsonConverter record: its member names (to
// tell a {"schema","payload"} wrapper from a bare payload) and the spans of
// schema and payload.
type top struct {
	m                     members
	schemaRaw, payloadRaw []byte
	schema                *compiled // set when the schema bytes matched a cached schema
}

// topMembers reads the top-level object whose '{' is next. Containers are
// only skimmed: whatever is used is fully parsed afterwards. A schema whose
// bytes equal a cached one is recognised by comparing bytes, not scanned.
func (d *Decoder) topMembers(s *scanner, role schemaRole) (t top, err error) {
	s.pos++
	for first := true; ; first = false {
		k, ok, err := s.nextMember(first)
		if err != nil {
			return t, err
		}
		if !ok {
			break
		}
		name := string(k)
		t.m.add(name)
		var span []byte
		c := s.peek()
		switch {
		case name == "schema" && c == '{':
			if comp, n := d.knownSchema(s.data[s.pos:], role); comp != nil {
				span, t.schema = s.data[s.pos:s.pos+n], comp
				s.pos += n
				break
			}
			span, err = s.skimContainer()
		case c == '{' || c == '[':
			span, err = s.skimContainer()
		default:
			span, err = s.span(1)
		}
		if err != nil {
			return t, err
		}
		switch name {
		case "schema":
			t.schemaRaw = span
		case "payload":
			t.payloadRaw = span
		}
	}
	return t, s.end()
}

// memberNames lists the member names of a JSON object, validating it.
func memberNames(b []byte) (members, error) {
	var m members
	s := scanner{data: b}
	if err := s.expect('{'); err != nil {
		return m, err
	}
	for first := true; ; first = false {
		k, ok, err := s.nextMember(first)
		if err != nil {
			return m, err
		}
		if !ok {
			return m, nil
		}
		m.add(string(k))
		if err := s.skip(1); err != nil {
			return m, err
		}
	}
}

// envelope holds the members of a change event before they are combined.
type envelope struct {
	op                         string
	hasOp                      bool
	source                     Source
	mongoSec                   *int64 // 0.x MongoDB source.sec
	before, after              map[string]any
	unchanged                  []string
	mongoBefore, mongoAfter    []byte // Extended JSON text (MongoDB)
	patch, filter              []byte
	updated                    []byte
	removed                    []string
	truncated                  map[string]int64
	hasUpdateDescr, mongoShape bool
}

func (d *Decoder) envelope(st *dec, comp *compiled, p *path) (Change, keyHint, error) {
	var e envelope
	s := &st.s
	if err := s.expect('{'); err != nil {
		return Change{}, 0, malformed(p, "%v", err)
	}
	for first := true; ; first = false {
		k, ok, err := s.nextMember(first)
		if err != nil {
			return Change{}, 0, malformed(p, "%v", err)
		}
		if !ok {
			break
		}
		// Members are decoded without a path; an error gets one on the way
		// out, so a successful decode builds none.
		var member string
		switch string(k) {
		case "op":
			member = "op"
			if s.null() {
				continue
			}
			var b []byte
			if b, err = st.str(); err == nil {
				e.op, e.hasOp = string(b), true
			}
		case "before", "after":
			isAfter := string(k) == "after"
			member = "before"
			row := comp.before
			if isAfter {
				member, row = "after", comp.after
			}
			if row == nil {
				row = d.plain.row
			}
			switch s.peek() {
			case '"': // MongoDB: the document as Extended JSON text
				var b []byte
				if b, err = st.str(); err != nil {
					break
				}
				e.mongoShape = true
				if isAfter {
					e.mongoAfter = b
				} else {
					e.mongoBefore = b
				}
			case '{':
				var unchanged *[]string
				if isAfter {
					unchanged = &e.unchanged
				}
				var m map[string]any
				if m, err = st.object(row, 1, unchanged); err != nil {
					break
				}
				if isAfter {
					e.after = m
				} else {
					e.before = m
				}
			default:
				if !s.null() {
					err = st.unexpected("an object", s.peek())
				}
			}
		case "source":
			member = "source"
			e.source, e.mongoSec, err = st.source()
		case "patch", "filter":
			member = string(k)
			if s.null() {
				continue
			}
			var b []byte
			if b, err = st.str(); err != nil {
				break
			}
			e.mongoShape = true
			if member == "patch" {
				e.patch = b
			} else {
				e.filter = b
			}
		case "updateDescription":
			member = "updateDescription"
			err = st.updateDescription(&e)
		default:
			if err = s.skip(1); err != nil {
				return Change{}, 0, under(bad("%v", err), p)
			}
		}
		if err != nil {
			fp := p.field(member)
			return Change{}, 0, under(err, &fp)
		}
	}
	return finishEnvelope(&e, p)
}

// finishEnvelope combines the members of a change event (JSON or Avro).
func finishEnvelope(e *envelope, p *path) (Change, keyHint, error) {
	if !e.hasOp {
		op := p.field("op")
		return Change{}, 0, malformed(&op, "missing")
	}
	if e.op == "m" {
		return Change{Kind: KindMessage, Source: e.source, Position: relationalPosition(&e.source)}, keyRelational, nil
	}
	op, err := ParseOp(e.op)
	if err != nil {
		fp := p.field("op")
		return Change{}, 0, malformed(&fp, "unknown op %q", e.op)
	}
	if e.mongoShape || e.source.Connector == "mongodb" || e.mongoSec != nil {
		ch, err := mongoChange(op, e, p)
		if err == nil && op.writesRow() && ch.After == nil && ch.Patch == nil {
			fp := p.field("after")
			return Change{}, 0, malformed(&fp, "missing: a %q record carries the document or its changes", e.op)
		}
		return ch, keyMongo, err
	}
	if op.writesRow() && e.after == nil {
		// Applied, it would leave the row holding its key and nothing else.
		fp := p.field("after")
		return Change{}, 0, malformed(&fp, "missing: a %q record carries the row", e.op)
	}
	ch := Change{
		Kind:     KindChange,
		Op:       op,
		Source:   e.source,
		Position: relationalPosition(&e.source),
		Before:   e.before,
		After:    e.after,
	}
	if len(e.unchanged) > 0 {
		slices.Sort(e.unchanged)
		ch.Unchanged = slices.Compact(e.unchanged)
	}
	return ch, keyRelational, nil
}

// isTruncate reports whether payload, which has an envelope's members, is
// a truncate event. ExtractNewRecordState forwards those as they are
// (delete.tombstone.handling.mode rewrite-with-tombstone, or the legacy
// drop.tombstones=false), among the rows it unwraps: a source read as
// unwrapped still takes them as truncates, not as a row whose columns are
// named source, op, before and after. Only the PostgreSQL connector sends
// truncates, always with its name and an LSN in source: a row of a table
// with columns op and source is not mistaken for one.
func (d *Decoder) isTruncate(comp *compiled, payload []byte, pp *path) bool {
	st := &dec{s: scanner{data: payload}, strings: &d.strings}
	ch, _, err := d.envelope(st, comp, pp)
	return err == nil && ch.Kind == KindChange && ch.Op == OpTruncate &&
		ch.Source.Connector == "postgresql" && ch.Source.LSN != nil
}

func relationalPosition(src *Source) Position {
	switch {
	case src.LSN == nil:
		return Position{}
	case src.CommitLSN != nil:
		return Position{Hi: max(*src.CommitLSN, *src.LSN), Lo: *src.LSN}
	case src.Snapshot != "" && src.Snapshot != ReadAtLSN:
		// An initial, blocking or incremental snapshot's read that names
		// no committed LSN (see Replaces).
		return Position{Hi: *src.LSN, Lo: SnapshotLo}
	}
	return Position{Hi: *src.LSN}
}

// commitLSN reads the last committed LSN from source.sequence, a JSON array
// in a string: ["<last commit LSN>","<LSN>"], the first null until the
// connector has seen a commit. Anything else names none (ok false): the LSN
// alone still orders the changes of one row. It is read by hand, without
// allocating: every PostgreSQL record carries one.
func commitLSN(sequence []byte) (lsn int64, ok bool) {
	s := bytes.TrimSpace(sequence)
	if !bytes.HasPrefix(s, []byte(`["`)) || !bytes.HasSuffix(s, []byte("]")) {
		return 0, false
	}
	s = s[2:]
	end := bytes.IndexByte(s, '"')
	if end <= 0 || end > 19 || !bytes.HasPrefix(bytes.TrimSpace(s[end+1:]), []byte(",")) {
		return 0, false
	}
	for _, c := range s[:end] {
		if c < '0' || c > '9' {
			return 0, false
		}
		lsn = lsn*10 + int64(c-'0')
	}
	return lsn, lsn >= 0 // 19 digits may wrap
}

// errCloudEvent refuses a record of Debezium's CloudEventsConverter, whose
// attributes would otherwise read as a row's columns.
func errCloudEvent(pp *path) error {
	return malformed(pp, "a CloudEvents record (io.debezium.converters.CloudEventsConverter): projector reads Debezium's change event envelope; set the connector's value.converter to the JSON or Avro converter")
}
