package debezium

import (
	"fmt"
	"strconv"
	"strings"
)

// kind is how a value is converted from its JSON (or Avro) form.
type kind uint8

const (
	kNatural        kind = iota // no type information: natural JSON values
	kInt                        // int8..int64, MicroDuration, Year: int64
	kFloat                      // float32, float64: float64
	kBool                       // boolean
	kString                     // string, Enum, Xml, Interval, ...
	kText                       // a column declared text: Debezium's text as written, else natural
	kBytes                      // bytes: base64 in JSON → []byte
	kDecimal                    // precise decimal with a fixed scale
	kVarDecimal                 // io.debezium.data.VariableScaleDecimal {scale, value}
	kDate                       // days since the epoch → Date
	kTime                       // time of day in unit → TimeOfDay
	kTimestamp                  // instant in unit since the epoch → time.Time UTC
	kZonedTimestamp             // ISO-8601 string with an offset → time.Time UTC
	kZonedTime                  // ISO-8601 time with an offset → normalised string
	kUUID                       // canonical UUID string
	kJSON                       // a string holding JSON → json.RawMessage
	kEnumSet                    // "a,b" → []any{"a","b"}
	kInterval                   // MicroDuration (int64 µs) or Interval (ISO string)
	kStruct                     // struct → map[string]any
	kArray                      // array → []any
	kMap                        // map → map[string]any
)

// codec converts one value. It is built once per schema (or column hint) and
// shared by all goroutines, so it is never modified after construction.
type codec struct {
	kind  kind
	unit  int64 // nanoseconds per unit of an integer time or timestamp
	scale int32 // kDecimal
	// precision is a declared numeric(p,s)'s p, 0 when none was declared:
	// PostgreSQL refuses a value with more digits on every retry.
	precision int32
	// bits is the width of a kInt (16 for smallint, 32 for int4 or a
	// schema's int32), 0 for int64: a value beyond it is refused too. A
	// kFloat of 32 bits is a real (float4): its values are rounded to it.
	bits uint8
	// step is the nanoseconds a kTime, kTimestamp, kZonedTimestamp or
	// kZonedTime value is rounded to: a second for a declared time(0) or
	// timestamp(0); 0 is PostgreSQL's default precision, a microsecond.
	step int64
	// text: a string may be a decimal literal (decimal.handling.mode
	// string), for a kDecimal, or a kInt of a declared column, which
	// also reads a VariableScaleDecimal (see dec.decimalInt).
	text bool
	bad  string // a schema problem, reported at the path of the value
	// scaleKnown is false for a bare numeric column hint: base64 cannot be
	// decoded without a scale.
	scaleKnown bool
	// to is the declared numeric(p,s) a kDecimal read at its schema's
	// scale is held to (see declaredPrecision), nil when none.
	to *codec

	// epochMs: a kDate or kTime integer is an instant in epoch
	// milliseconds, of which it is the UTC date or time of day (a
	// MongoDB date after ExtractNewDocumentState; see mongoRowHints).
	epochMs bool

	fields []field           // kStruct, in schema order
	hints  map[string]*codec // kStruct at row level: codecs for fields the schema lacks
	row    bool              // kStruct: a top-level row (TOAST placeholders are handled)
	elem   *codec            // kArray items, kMap values
}

type field struct {
	name string
	c    *codec
}

// schemaNode is a Kafka Connect schema as JsonConverter writes it.
type schemaNode struct {
	typ, name, field    string
	params              map[string]string
	fields              []*schemaNode
	items, keys, values *schemaNode
}

// parseSchemaNode reads a schema object; a JSON null is a nil node.
func parseSchemaNode(s *scanner, p *path, depth int) (*schemaNode, error) {
	if depth > maxDepth {
		return nil, malformed(p, "%v", errDepth)
	}
	if s.null() {
		return nil, nil
	}
	if err := s.expect('{'); err != nil {
		return nil, malformed(p, "%v", err)
	}
	n := &schemaNode{}
	for first := true; ; first = false {
		k, ok, err := s.nextMember(first)
		if err != nil {
			return nil, malformed(p, "%v", err)
		}
		if !ok {
			return n, nil
		}
		switch string(k) {
		case "type":
			n.typ, err = schemaString(s, p, "type")
		case "name":
			n.name, err = schemaString(s, p, "name")
		case "field":
			n.field, err = schemaString(s, p, "field")
		case "parameters":
			n.params, err = schemaParams(s, p)
		case "fields":
			fp := p.field("fields")
			if s.null() {
				continue
			}
			if err := s.expect('['); err != nil {
				return nil, malformed(&fp, "%v", err)
			}
			for i := 0; ; i++ {
				ok, err := s.nextElem(i == 0)
				if err != nil {
					return nil, malformed(&fp, "%v", err)
				}
				if !ok {
					break
				}
				ep := fp.elem(i)
				f, err := parseSchemaNode(s, &ep, depth+1)
				if err != nil {
					return nil, err
				}
				if f != nil {
					n.fields = append(n.fields, f)
				}
			}
		case "items", "keys", "values":
			name := string(k)
			ip := p.field(name)
			sub, err := parseSchemaNode(s, &ip, depth+1)
			if err != nil {
				return nil, err
			}
			switch name {
			case "items":
				n.items = sub
			case "keys":
				n.keys = sub
			default:
				n.values = sub
			}
		default:
			if err := s.skip(depth + 1); err != nil {
				return nil, malformed(p, "%v", err)
			}
		}
		if err != nil {
			return nil, err
		}
	}
}

func schemaString(s *scanner, p *path, name string) (string, error) {
	if s.null() {
		return "", nil
	}
	b, err := s.str()
	if err != nil {
		fp := p.field(name)
		return "", malformed(&fp, "%v", err)
	}
	return string(b), nil
}

func schemaParams(s *scanner, p *path) (map[string]string, error) {
	pp := p.field("parameters")
	if s.null() {
		return nil, nil
	}
	if err := s.expect('{'); err != nil {
		return nil, malformed(&pp, "%v", err)
	}
	m := map[string]string{}
	for first := true; ; first = false {
		k, ok, err := s.nextMember(first)
		if err != nil {
			return nil, malformed(&pp, "%v", err)
		}
		if !ok {
			return m, nil
		}
		key := string(k)
		if s.peek() == '"' {
			v, err := s.str()
			if err != nil {
				return nil, malformed(&pp, "%v", err)
			}
			m[key] = string(v)
			continue
		}
		// Parameters are strings; tolerate a number written bare.
		v, err := s.span(0)
		if err != nil {
			return nil, malformed(&pp, "%v", err)
		}
		m[key] = string(v)
	}
}

// Logical type names (connect.name in Avro) that change how a value reads.
const (
	connectDecimal      = "org.apache.kafka.connect.data.Decimal"
	connectDate         = "org.apache.kafka.connect.data.Date"
	connectTime         = "org.apache.kafka.connect.data.Time"
	connectTimestamp    = "org.apache.kafka.connect.data.Timestamp"
	dbzVariableDecimal  = "io.debezium.data.VariableScaleDecimal"
	dbzDate             = "io.debezium.time.Date"
	dbzTime             = "io.debezium.time.Time"
	dbzMicroTime        = "io.debezium.time.MicroTime"
	dbzNanoTime         = "io.debezium.time.NanoTime"
	dbzTimestamp        = "io.debezium.time.Timestamp"
	dbzMicroTimestamp   = "io.debezium.time.MicroTimestamp"
	dbzNanoTimestamp    = "io.debezium.time.NanoTimestamp"
	dbzZonedTimestamp   = "io.debezium.time.ZonedTimestamp"
	dbzZonedTime        = "io.debezium.time.ZonedTime"
	dbzMicroDuration    = "io.debezium.time.MicroDuration"
	dbzNanoDuration     = "io.debezium.time.NanoDuration"
	dbzInterval         = "io.debezium.time.Interval"
	dbzUUID             = "io.debezium.data.Uuid"
	dbzJSON             = "io.debezium.data.Json"
	dbzEnumSet          = "io.debezium.data.EnumSet"
	dbzHeartbeat        = "io.debezium.connector.common.Heartbeat"
	dbzTransactionValue = "io.debezium.connector.common.TransactionMetadataValue"
	schemaChangeSuffix  = ".SchemaChangeValue"
	scaleParameter      = "scale"
)

// logicalCodec returns the codec for a Debezium or Kafka Connect logical
// name, or nil when the name changes nothing.
func logicalCodec(name string, params map[string]string) *codec {
	switch name {
	case connectDecimal:
		c := &codec{kind: kDecimal, scaleKnown: true}
		s, ok := params[scaleParameter]
		if !ok {
			c.bad = "decimal schema has no scale parameter"
			return c
		}
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			c.bad = fmt.Sprintf("decimal scale %q is not an integer", s)
			return c
		}
		c.scale = int32(n)
		return c
	case dbzVariableDecimal:
		return &codec{kind: kVarDecimal}
	case dbzDate, connectDate:
		return &codec{kind: kDate}
	case dbzTime, connectTime:
		return &codec{kind: kTime, unit: 1e6}
	case dbzMicroTime:
		return &codec{kind: kTime, unit: 1e3}
	case dbzNanoTime:
		return &codec{kind: kTime, unit: 1}
	case dbzTimestamp, connectTimestamp:
		return &codec{kind: kTimestamp, unit: 1e6}
	case dbzMicroTimestamp:
		return &codec{kind: kTimestamp, unit: 1e3}
	case dbzNanoTimestamp:
		return &codec{kind: kTimestamp, unit: 1}
	case dbzZonedTimestamp:
		return &codec{kind: kZonedTimestamp, unit: 1e6}
	case dbzZonedTime:
		return &codec{kind: kZonedTime}
	case dbzMicroDuration, dbzNanoDuration:
		return &codec{kind: kInt}
	case dbzInterval:
		return &codec{kind: kInterval}
	case dbzUUID:
		return &codec{kind: kUUID}
	case dbzJSON:
		return &codec{kind: kJSON}
	case dbzEnumSet:
		return &codec{kind: kEnumSet}
	}
	return nil
}

// compileNode builds the codec of a schema node.
func compileNode(n *schemaNode) *codec {
	if n == nil {
		return nil
	}
	if c := logicalCodec(n.name, n.params); c != nil {
		return c
	}
	switch n.typ {
	case "int8":
		return &codec{kind: kInt, bits: 8}
	case "int16":
		return &codec{kind: kInt, bits: 16}
	case "int32":
		return &codec{kind: kInt, bits: 32}
	case "int64":
		return &codec{kind: kInt}
	case "float32", "float":
		return &codec{kind: kFloat, bits: 32}
	case "float64", "double":
		return &codec{kind: kFloat}
	case "boolean":
		return &codec{kind: kBool}
	case "string":
		return &codec{kind: kString}
	case "bytes":
		return &codec{kind: kBytes}
	case "struct":
		c := &codec{kind: kStruct, fields: make([]field, 0, len(n.fields))}
		for _, f := range n.fields {
			c.fields = append(c.fields, field{name: f.field, c: compileNode(f)})
		}
		return c
	case "array":
		return &codec{kind: kArray, elem: compileNode(n.items)}
	case "map":
		return &codec{kind: kMap, elem: compileNode(n.values)}
	}
	return nil
}

// compileRow builds the codec of a top-level row (a key, a before/after
// image or an unwrapped record): column hints refine plain fields and cover
// the members the schema does not declare.
func compileRow(n *schemaNode, hints map[string]*codec) *codec {
	c := &codec{kind: kStruct, row: true, hints: hints}
	if n == nil {
		return c
	}
	c.fields = make([]field, 0, len(n.fields))
	for _, f := range n.fields {
		fc := compileNode(f)
		if h := hints[f.field]; h != nil {
			if refines(h, fc, f) || narrows(h, fc, f) || keepsText(h, fc, f.typ == "string") {
				fc = h
			} else if p := declaredPrecision(h, fc); p != nil {
				fc = p
			}
		}
		c.fields = append(c.fields, field{name: f.field, c: fc})
	}
	return c
}

// refines reports whether a column hint should replace the schema's codec:
// only when the schema carries no logical type and the hint adds meaning
// (a decimal read as a string or double, a date read as an integer, ...).
func refines(h, fc *codec, f *schemaNode) bool {
	if f.name != "" && logicalCodec(f.name, f.params) != nil {
		return false
	}
	switch h.kind {
	case kNatural, kInt, kFloat, kBool, kString, kText:
		return false
	}
	if fc == nil {
		return true
	}
	switch fc.kind {
	case kInt, kFloat, kString, kBytes, kNatural:
		return true
	case kArray:
		return h.kind == kArray && !logicalItems(f)
	case kStruct:
		return h.kind == kVarDecimal || h.kind == kDecimal || h.kind == kStruct
	}
	return false
}

// logicalItems reports whether an array's items (at any depth of arrays)
// carry a logical type, which a column hint does not replace, as it does not
// replace a top-level one (a MicroTimestamp's microseconds are no
// timestamp(3)'s milliseconds).
func logicalItems(f *schemaNode) bool {
	for it := f.items; it != nil; it = it.items {
		if it.name != "" && logicalCodec(it.name, it.params) != nil {
			return true
		}
	}
	return false
}

// narrows reports whether a declared integer type is narrower than the
// schema's plain integer (integer over an int64 field) or its double or
// string (decimal.handling.mode=double or string), or a declared real than
// its double: the view's column has the declared type, so a value beyond
// it must be caught, or rounded, here.
func narrows(h, fc *codec, f *schemaNode) bool {
	if h.kind == kFloat && h.bits == 32 && fc != nil && fc.kind == kFloat && fc.bits != 32 {
		return true
	}
	if h.kind != kInt || fc == nil {
		return false
	}
	if f.name != "" && logicalCodec(f.name, f.params) != nil {
		return false // MicroDuration and the like are not the column's integer
	}
	switch fc.kind {
	case kFloat, kString:
		return true // a double or decimal text in an integer column: 12.00 reads 12, 3.7 is refused
	case kInt:
		return h.bits != 0 && (fc.bits == 0 || h.bits < fc.bits)
	}
	return false
}

// form is what a record is.
type form uint8

const (
	formDetect form = iota // decided from the payload's members
	formEnvelope
	formTransaction
	formHeartbeat
	formSchemaChange
	formUnwrapped
	formCloudEvent // CloudEventsConverter's: refused, saying so
)

// compiled is a parsed and compiled schema.
type compiled struct {
	form          form
	row           *codec // a key, or the unwrapped record
	before, after *codec // envelope images
}

func compileSchema(raw []byte, role schemaRole, hints map[string]*codec, at *path) (*compiled, error) {
	s := scanner{data: raw}
	n, err := parseSchemaNode(&s, at, 0)
	if err != nil {
		return nil, err
	}
	if err := s.end(); err != nil {
		return nil, malformed(at, "%v", err)
	}
	if role == roleRow {
		return &compiled{form: formUnwrapped, row: compileRow(n, hints)}, nil
	}
	if n == nil {
		return &compiled{form: formDetect}, nil
	}
	c := &compiled{form: formOfSchema(n)}
	switch c.form {
	case formEnvelope:
		for _, f := range n.fields {
			switch f.field {
			case "before":
				if f.typ == "struct" {
					c.before = compileRow(f, hints)
				}
			case "after":
				if f.typ == "struct" {
					c.after = compileRow(f, hints)
				}
			}
		}
	case formUnwrapped:
		c.row = compileRow(n, hints)
	}
	return c, nil
}

// formOfName tells a record's form by the schema name Debezium gives it,
// when it gave one: "<prefix>.<schema>.<table>.Envelope" for a change
// event, "….Value" for a row (what ExtractNewRecordState leaves), and the
// names of its heartbeats, transaction markers and schema changes. A row
// whose columns look like a transaction's (status, id, event_count) or
// a schema change's (ddl) is still a row. A schema without such a name
// is told by its members.
func formOfName(name string) (form, bool) {
	switch {
	case name == dbzHeartbeat:
		return formHeartbeat, true
	case name == dbzTransactionValue:
		return formTransaction, true
	case len(name) > len(schemaChangeSuffix) && strings.HasSuffix(name, schemaChangeSuffix):
		return formSchemaChange, true
	case strings.HasSuffix(name, ".Envelope"):
		return formEnvelope, true
	case strings.HasSuffix(name, ".Value"):
		return formUnwrapped, true
	}
	return 0, false
}

func formOfSchema(n *schemaNode) form {
	if f, ok := formOfName(n.name); ok {
		return f
	}
	if n.typ != "struct" {
		return formUnwrapped
	}
	var m members
	for _, f := range n.fields {
		m.add(f.field)
	}
	return m.form()
}

// members records which telltale member names an object has.
type members struct {
	count                                         int
	op, before, after, source                     bool
	status, id, eventCount, dataCollections, tsMs bool
	ddl, tableChanges, databaseName               bool
	schema, payload                               bool
	specversion, cloudOp                          bool
}

func (m *members) add(name string) {
	m.count++
	switch name {
	case "op":
		m.op = true
	case "before":
		m.before = true
	case "after":
		m.after = true
	case "source":
		m.source = true
	case "status":
		m.status = true
	case "id":
		m.id = true
	case "event_count":
		m.eventCount = true
	case "data_collections":
		m.dataCollections = true
	case "ts_ms":
		m.tsMs = true
	case "specversion":
		m.specversion = true
	case "iodebeziumop":
		m.cloudOp = true
	case "ddl":
		m.ddl = true
	case "tableChanges":
		m.tableChanges = true
	case "databaseName":
		m.databaseName = true
	case "schema":
		m.schema = true
	case "payload":
		m.payload = true
	}
}

// form classifies a payload (or a value schema) by its member names.
func (m *members) form() form {
	switch {
	case m.specversion && m.cloudOp:
		return formCloudEvent
	case m.op && (m.before || m.after || m.source):
		return formEnvelope
	case m.status && m.id && (m.eventCount || m.dataCollections):
		return formTransaction
	case m.count == 1 && m.tsMs:
		return formHeartbeat
	case m.ddl || m.tableChanges || (m.databaseName && m.source):
		return formSchemaChange
	case m.op && m.source:
		return formEnvelope
	case m.source && (m.before || m.after):
		// An envelope that lost its op (a broken producer or SMT): read
		// as a row of columns "before", "after" and "source" it would
		// write a document of nulls. It is malformed; a table with such
		// columns needs format: unwrapped.
		return formEnvelope
	}
	return formUnwrapped
}
