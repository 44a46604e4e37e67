package debezium

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/hamba/avro/v2"
)

// avroRegistry holds the Avro schemas added with AddAvroSchema, by
// Confluent schema id. It is guarded by Decoder.mu.
type avroRegistry struct {
	byID map[int]*avroSchema
}

// avroSchema is a registered schema, prepared for both roles.
type avroSchema struct {
	node *avroNode // as written (envelope, metadata, or a key)
	form form      // what a value with this schema is
	row  *avroNode // the record read as a row (keys, unwrapped values)
	// fields: how an envelope's fields are read where that is not as
	// written (see envelopeFields).
	fields map[string]*avroNode
}

func init() {
	// hamba/avro holds every name and namespace part to [A-Za-z_][A-Za-z0-9_]*;
	// Java's Avro, which AvroConverter and the schema registry use, checks
	// the simple name only, and takes any Unicode letter. So a schema the
	// registry holds, such as a column "prénom", or the namespace
	// "prod-db.public.orders" of a connector whose topic.prefix is "prod-db"
	// (Debezium 2 adjusts no names by default), would fail every record of
	// its topic. The registry has checked the names already.
	avro.SkipNameValidation = true
}

// AddAvroSchema registers the Avro schema (JSON text, as the schema
// registry returns it) under its Confluent id. Decode reports an unknown id
// with *UnknownSchemaError; the caller fetches the schema and adds it here.
func (d *Decoder) AddAvroSchema(id int, schema string) (err error) {
	defer func() {
		// The schema comes from outside; a library panic on odd input must
		// not take the process down.
		if r := recover(); r != nil {
			err = fmt.Errorf("debezium: avro schema %d: %v", id, r)
		}
	}()
	// A private cache: named types of different schema versions share names.
	s, err := avro.ParseWithCache(schema, "", &avro.SchemaCache{})
	if err != nil {
		return fmt.Errorf("debezium: avro schema %d: %w", id, err)
	}
	node := prepareAvro(s, map[*avro.RecordSchema]*avroNode{})
	as := &avroSchema{node: node, form: avroForm(node)}
	as.row = node.withHints(d.hints)
	if as.form == formEnvelope {
		as.fields = envelopeFields(node, d.hints)
	}
	d.mu.Lock()
	if d.avro.byID == nil {
		d.avro.byID = map[int]*avroSchema{}
	}
	d.avro.byID[id] = as
	d.mu.Unlock()
	return nil
}

// envelopeFields returns the nodes that read an envelope's fields other
// than as written: a relational before and after as rows (the column
// hints, TOAST placeholders), and a MongoDB envelope's documents (after,
// before, patch, filter, updateDescription.updatedFields) as raw text.
// These are io.debezium.data.Json strings, but what they hold is Extended
// JSON, which is not always JSON (the Java driver's strict mode writes a
// double's NaN as a bare NaN): the MongoDB reader checks it, as it does
// the same text in the JSON path.
func envelopeFields(env *avroNode, hints map[string]*codec) map[string]*avroNode {
	out := map[string]*avroNode{}
	for _, f := range env.fields {
		var n *avroNode
		switch f.name {
		case "before", "after":
			if rec := recordOf(f.n); rec != nil {
				n = replaceBranch(f.n, rec.withHints(hints))
			} else {
				n = rawText(f.n)
			}
		case "patch", "filter":
			n = rawText(f.n)
		case "updateDescription":
			if rec := recordOf(f.n); rec != nil {
				ud := *rec
				ud.fields = make([]avroField, len(rec.fields))
				for i, uf := range rec.fields {
					ud.fields[i] = uf
					if uf.name == "updatedFields" {
						ud.fields[i].n = rawText(uf.n)
					}
				}
				n = replaceBranch(f.n, &ud)
			}
		}
		if n != nil && n != f.n {
			out[f.name] = n
		}
	}
	return out
}

// recordOf returns n if it is a record, or the record of a [null, record]
// union.
func recordOf(n *avroNode) *avroNode {
	if n.typ == avro.Union {
		n = nonNullBranch(n)
	}
	if n == nil || n.typ != avro.Record {
		return nil
	}
	return n
}

// rawText returns n, a Json string or a union holding one, without the
// Json codec: read as the text itself.
func rawText(n *avroNode) *avroNode {
	switch {
	case n.typ == avro.String && n.c != nil && n.c.kind == kJSON:
		t := *n
		t.c = nil
		return &t
	case n.typ == avro.Union:
		for i, b := range n.union {
			if t := rawText(b); t != b {
				u := *n
				u.union = slices.Clone(n.union)
				u.union[i] = t
				return &u
			}
		}
	}
	return n
}

func avroForm(n *avroNode) form {
	if f, ok := formOfName(n.name); ok {
		return f
	}
	if n.typ != avro.Record {
		return formUnwrapped
	}
	var m members
	for _, f := range n.fields {
		m.add(f.name)
	}
	return m.form()
}

// avroFrame splits Confluent's wire format: magic 0, 4-byte id, body.
func (d *Decoder) avroFrame(b []byte, p *path) (*avroSchema, []byte, error) {
	if len(b) < 5 || b[0] != 0 {
		return nil, nil, malformed(p, "not Confluent Avro framing (magic byte 0 and a 4-byte schema id)")
	}
	// The id is a Java int: the serializers write it signed, and the
	// registry assigns none beyond 2^31-1, nor takes one in its path. Such
	// bytes are a corrupt record, not a schema to ask for.
	id := int(int32(binary.BigEndian.Uint32(b[1:5])))
	if id < 0 {
		return nil, nil, malformed(p, "schema id %d (bytes %x): the wire format's id is a signed 32-bit int, and no registry id is negative", id, b[1:5])
	}
	d.mu.RLock()
	s := d.avro.byID[id]
	d.mu.RUnlock()
	if s == nil {
		return nil, nil, fmt.Errorf("%s: %w", p.String(), &UnknownSchemaError{ID: id})
	}
	return s, b[5:], nil
}

func (d *Decoder) decodeAvro(key, value []byte) (Change, error) {
	vp := path{name: "value"}
	if len(value) == 0 {
		k, err := d.avroKey(key, keyUnknown)
		return Change{Kind: KindTombstone, Key: k}, err
	}
	s, body, err := d.avroFrame(value, &vp)
	if err != nil {
		return Change{}, err
	}
	f := s.form
	if d.format == FormatUnwrapped {
		// A record Debezium named ….Envelope is one whatever the source
		// says: what the SMT forwards as an envelope is a truncate.
		if named, ok := formOfName(s.node.name); (!ok || named != formEnvelope) && f != formCloudEvent {
			f = formUnwrapped
		}
	}
	r := &avroReader{b: body}
	pp := path{name: "payload"}
	var (
		ch        Change
		hint      = keyRelational
		unchanged []string
	)
	node := s.node
	if f == formUnwrapped {
		node = s.row
	}
	if f == formEnvelope && node.typ == avro.Record {
		v, err := r.envelope(s, &unchanged)
		if err != nil {
			return Change{}, under(err, &pp)
		}
		ch, hint, err = avroEnvelope(v, unchanged, &pp)
		if err != nil {
			return Change{}, err
		}
		if hint == keyMongo {
			if err := d.mongoHints(&ch); err != nil {
				return Change{}, err
			}
		}
	} else {
		v, err := r.value(node, 0, &unchanged)
		if err != nil {
			return Change{}, under(err, &pp)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return Change{}, malformed(&pp, "expected an Avro record")
		}
		switch f {
		case formTransaction:
			ch = Change{Kind: KindTransaction, Transaction: transactionFromMap(m)}
			if ch.Transaction.Status == "" || ch.Transaction.ID == "" {
				return Change{}, malformed(&pp, "transaction without status or id")
			}
		case formHeartbeat:
			ch = Change{Kind: KindHeartbeat}
			ch.Source.TsMs = int64Ptr(m["ts_ms"])
		case formSchemaChange:
			ch, err = schemaChangeFromMap(m)
		case formCloudEvent:
			err = errCloudEvent(&pp)
		default:
			ch, hint, err = d.fields.change(m, unchanged, &pp)
			if err == nil && hint == keyMongoUnwrapped {
				// As the envelope's: the document's fields are Extended
				// JSON's, not the columns' (see mongoHints).
				err = d.mongoHints(&ch)
			}
		}
		if err != nil {
			return Change{}, err
		}
	}
	if r.pos != len(r.b) {
		return Change{}, malformed(&pp, "%d bytes after the Avro record", len(r.b)-r.pos)
	}
	if ch.Kind == KindChange && ch.Op == OpTruncate {
		return ch, nil
	}
	k, err := d.avroKey(key, hint)
	if err != nil {
		return Change{}, err
	}
	if k != nil {
		ch.Key = k
	}
	if hint == keyMongo || hint == keyMongoUnwrapped {
		if err := d.mongoKeyHints(&ch); err != nil {
			return Change{}, err
		}
	}
	return ch, nil
}

// envelope reads an envelope record, its fields as envelopeFields says.
func (r *avroReader) envelope(s *avroSchema, unchanged *[]string) (map[string]any, error) {
	m := make(map[string]any, len(s.node.fields))
	for _, f := range s.node.fields {
		n := f.n
		var ch *[]string
		if as := s.fields[f.name]; as != nil {
			n = as
			if f.name == "after" {
				ch = unchanged
			}
		}
		v, err := r.value(n, 1, ch)
		if err != nil {
			return nil, prefixErr(err, f.name)
		}
		m[f.name] = v
	}
	return m, nil
}

// replaceBranch swaps the record branch of a [null, record] union for its
// row form.
func replaceBranch(n, row *avroNode) *avroNode {
	if n.typ != avro.Union {
		return row
	}
	u := *n
	u.union = make([]*avroNode, len(n.union))
	for i, b := range n.union {
		if b.typ == avro.Record {
			u.union[i] = row
		} else {
			u.union[i] = b
		}
	}
	return &u
}

// avroKey decodes a key that is Confluent Avro, or JSON when it is not
// framed (a JSON key converter beside an Avro value converter).
func (d *Decoder) avroKey(key []byte, hint keyHint) (map[string]any, error) {
	if len(key) == 0 || key[0] != 0 {
		return d.decodeKey(key, hint)
	}
	kp := path{name: "key"}
	s, body, err := d.avroFrame(key, &kp)
	if err != nil {
		return nil, err
	}
	r := &avroReader{b: body}
	v, err := r.value(s.row, 0, nil)
	if err != nil {
		return nil, under(err, &kp)
	}
	if r.pos != len(r.b) {
		return nil, malformed(&kp, "%d bytes after the Avro record", len(r.b)-r.pos)
	}
	k, ok := v.(map[string]any)
	if !ok {
		return nil, malformed(&kp, "expected an Avro record")
	}
	switch hint {
	case keyMongo:
		return mongoKey(k, true, false, &kp)
	case keyMongoUnwrapped:
		return mongoKey(k, true, true, &kp)
	case keyMaybeMongo:
		return mongoKey(k, false, false, &kp)
	case keyUnknown:
		return mongoKey(k, false, true, &kp)
	}
	return k, nil
}

// avroEnvelope combines a decoded envelope record.
func avroEnvelope(m map[string]any, unchanged []string, p *path) (Change, keyHint, error) {
	var e envelope
	op, ok := m["op"].(string)
	if !ok {
		fp := p.field("op")
		return Change{}, 0, malformed(&fp, "missing")
	}
	e.op, e.hasOp = op, true
	if src, ok := m["source"].(map[string]any); ok {
		e.source, e.mongoSec = sourceFromMap(src)
	}
	if v, ok := m["after"].(map[string]any); ok {
		e.after = v
	}
	if v, ok := m["before"].(map[string]any); ok {
		e.before = v
	}
	// MongoDB: Extended JSON text (a Json string, read as json.RawMessage).
	for name, dst := range map[string]*[]byte{"after": &e.mongoAfter, "before": &e.mongoBefore, "patch": &e.patch, "filter": &e.filter} {
		if b, ok := textOf(m[name]); ok {
			*dst, e.mongoShape = b, true
		}
	}
	if ud, ok := m["updateDescription"].(map[string]any); ok {
		e.hasUpdateDescr, e.mongoShape = true, true
		if b, ok := textOf(ud["updatedFields"]); ok {
			e.updated = b
		}
		if arr, ok := ud["removedFields"].([]any); ok {
			for _, f := range arr {
				if f, ok := f.(string); ok {
					e.removed = append(e.removed, f)
				}
			}
		}
		if arr, ok := ud["truncatedArrays"].([]any); ok {
			for _, t := range arr {
				t, _ := t.(map[string]any)
				f, ok1 := t["field"].(string)
				n, ok2 := t["size"].(int64)
				if ok1 && ok2 {
					if e.truncated == nil {
						e.truncated = map[string]int64{}
					}
					e.truncated[f] = n
				}
			}
		}
	}
	e.unchanged = unchanged
	return finishEnvelope(&e, p)
}

// textOf returns the text of a string or json.RawMessage value.
func textOf(v any) ([]byte, bool) {
	switch v := v.(type) {
	case string:
		return []byte(v), true
	case json.RawMessage:
		return v, true
	}
	return nil, false
}

func sourceFromMap(m map[string]any) (Source, *int64) {
	str := func(k string) string { s, _ := m[k].(string); return s }
	src := Source{
		Connector: str("connector"), Name: str("name"), DB: str("db"), Schema: str("schema"),
		Table: str("table"), Collection: str("collection"),
		LSN: int64Ptr(m["lsn"]), TxID: int64Ptr(m["txId"]), TsMs: int64Ptr(m["ts_ms"]), Ord: int64Ptr(m["ord"]),
	}
	if n, ok := commitLSN([]byte(str("sequence"))); ok {
		src.CommitLSN = &n
	}
	switch s := m["snapshot"].(type) {
	case string:
		if s != "false" {
			src.Snapshot = s
		}
	case bool:
		if s {
			src.Snapshot = "true"
		}
	}
	return src, int64Ptr(m["sec"])
}

func int64Ptr(v any) *int64 {
	if n, ok := v.(int64); ok {
		return &n
	}
	return nil
}

func transactionFromMap(m map[string]any) *Transaction {
	tx := &Transaction{EventCount: int64Ptr(m["event_count"]), TsMs: int64Ptr(m["ts_ms"])}
	tx.Status, _ = m["status"].(string)
	tx.ID, _ = m["id"].(string)
	if arr, ok := m["data_collections"].([]any); ok {
		for _, e := range arr {
			e, _ := e.(map[string]any)
			name, _ := e["data_collection"].(string)
			n, _ := e["event_count"].(int64)
			tx.DataCollections = append(tx.DataCollections, DataCollection{Name: name, EventCount: n})
		}
	}
	return tx
}

func schemaChangeFromMap(m map[string]any) (Change, error) {
	sc := &SchemaChange{}
	sc.DatabaseName, _ = m["databaseName"].(string)
	sc.SchemaName, _ = m["schemaName"].(string)
	sc.DDL, _ = m["ddl"].(string)
	if tc, ok := m["tableChanges"]; ok && tc != nil {
		raw, err := json.Marshal(tc)
		if err != nil {
			return Change{}, bad("tableChanges: %v", err)
		}
		sc.TableChanges = raw
	}
	ch := Change{Kind: KindSchemaChange, SchemaChange: sc}
	if src, ok := m["source"].(map[string]any); ok {
		ch.Source, _ = sourceFromMap(src)
	}
	return ch, nil
}
