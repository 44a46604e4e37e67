package debezium

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"

	"github.com/hamba/avro/v2"
	"github.com/shopspring/decimal"
)

// avroNode is an Avro schema prepared for reading: the hamba schema for the
// wire layout plus the codec that turns each leaf into its Change type.
type avroNode struct {
	typ     avro.Type
	c       *codec      // leaf conversion (nil: natural)
	fields  []avroField // record
	row     bool        // record: a top-level row (TOAST placeholders)
	items   *avroNode   // array items, map values
	union   []*avroNode // union branches
	symbols []string    // enum
	size    int         // fixed
	name    string      // record full name or connect.name
}

type avroField struct {
	name string
	n    *avroNode
}

// maxAvroDepth bounds reading: a record may refer to itself.
const maxAvroDepth = 64

// prepareAvro builds the avroNode of a schema. A named record is built once
// (records maps it to its node), so a record that refers to itself becomes a
// cycle rather than an endless or exponential tree.
func prepareAvro(s avro.Schema, records map[*avro.RecordSchema]*avroNode) *avroNode {
	if s == nil {
		return &avroNode{typ: avro.Null}
	}
	if ref, ok := s.(*avro.RefSchema); ok {
		return prepareAvro(ref.Schema(), records)
	}
	if rec, ok := s.(*avro.RecordSchema); ok {
		if n, ok := records[rec]; ok {
			return n
		}
	}
	n := &avroNode{typ: s.Type()}
	connectName, params := connectProps(s)
	n.name = connectName
	switch s := s.(type) {
	case *avro.RecordSchema:
		if n.name == "" {
			n.name = s.FullName()
		}
		records[s] = n
		for _, f := range s.Fields() {
			n.fields = append(n.fields, avroField{name: f.Name(), n: prepareAvro(f.Type(), records)})
		}
		n.c = logicalCodec(n.name, params) // VariableScaleDecimal, geometry...
		return n
	case *avro.UnionSchema:
		for _, t := range s.Types() {
			n.union = append(n.union, prepareAvro(t, records))
		}
		return n
	case *avro.ArraySchema:
		n.items = prepareAvro(s.Items(), records)
		return n
	case *avro.MapSchema:
		n.items = prepareAvro(s.Values(), records)
		return n
	case *avro.EnumSchema:
		n.symbols = s.Symbols()
		return n
	case *avro.FixedSchema:
		n.size = s.Size()
		n.c = avroLogical(s.Logical(), params, connectName)
		return n
	case *avro.PrimitiveSchema:
		n.c = avroLogical(s.Logical(), params, connectName)
		return n
	}
	return n
}

// connectProps returns the Kafka Connect name and parameters that
// AvroConverter stores as "connect.name" and "connect.parameters".
func connectProps(s avro.Schema) (string, map[string]string) {
	ps, ok := s.(avro.PropertySchema)
	if !ok {
		return "", nil
	}
	name, _ := ps.Prop("connect.name").(string)
	var params map[string]string
	if raw, ok := ps.Prop("connect.parameters").(map[string]any); ok {
		params = make(map[string]string, len(raw))
		for k, v := range raw {
			switch v := v.(type) {
			case string:
				params[k] = v
			case float64:
				params[k] = strconv.FormatFloat(v, 'f', -1, 64)
			}
		}
	}
	return name, params
}

// avroLogical picks the leaf codec: the Connect name first, then Avro's own
// logical type.
func avroLogical(ls avro.LogicalSchema, params map[string]string, connectName string) *codec {
	if c := logicalCodec(connectName, params); c != nil {
		if c.kind == kDecimal && c.bad != "" {
			if d, ok := ls.(*avro.DecimalLogicalSchema); ok {
				return &codec{kind: kDecimal, scale: int32(d.Scale()), scaleKnown: true}
			}
		}
		return c
	}
	if ls == nil {
		return nil
	}
	switch ls.Type() {
	case avro.Decimal:
		if d, ok := ls.(*avro.DecimalLogicalSchema); ok {
			return &codec{kind: kDecimal, scale: int32(d.Scale()), scaleKnown: true}
		}
	case avro.UUID:
		return &codec{kind: kUUID}
	case avro.Date:
		return &codec{kind: kDate}
	case avro.TimeMillis:
		return &codec{kind: kTime, unit: 1e6}
	case avro.TimeMicros:
		return &codec{kind: kTime, unit: 1e3}
	case avro.TimestampMillis, avro.LocalTimestampMillis:
		return &codec{kind: kTimestamp, unit: 1e6}
	case avro.TimestampMicros, avro.LocalTimestampMicros:
		return &codec{kind: kTimestamp, unit: 1e3}
	}
	return nil
}

// withHints returns a copy of a row record whose plain leaf fields take the
// column hints, as compileRow does for JSON schemas.
func (n *avroNode) withHints(hints map[string]*codec) *avroNode {
	if n.typ != avro.Record {
		return n
	}
	row := *n
	row.row = true
	row.fields = make([]avroField, len(n.fields))
	for i, f := range n.fields {
		row.fields[i] = f
		if h := hints[f.name]; h != nil {
			row.fields[i].n = hintedNode(f.n, h)
		}
	}
	return &row
}

// hintedNode returns n with the column hint h applied where it applies: to
// the value of a [null, X] union, to the items of an array declared as
// one (numeric(10,2)[]), to a plain leaf the hint gives meaning to. A
// logical type keeps its codec, refined only by what is declared (a
// time's digits, a variable-scale decimal's scale), but for a logical
// string in a column declared text, which keeps its text (see keepsText).
// n itself is never changed: a schema's nodes are shared.
func hintedNode(n *avroNode, h *codec) *avroNode {
	var c *codec
	switch {
	case n.typ == avro.Union:
		b := nonNullBranch(n)
		if b == nil {
			return n
		}
		hb := hintedNode(b, h)
		if hb == b {
			return n
		}
		u := *n
		u.union = make([]*avroNode, len(n.union))
		for j, x := range n.union {
			if x == b {
				u.union[j] = hb
			} else {
				u.union[j] = x
			}
		}
		return &u
	case keepsText(h, n.c, n.typ == avro.String):
		c = h
	case n.c != nil:
		c = declaredPrecision(h, n.c)
	case n.typ == avro.Array:
		if h.kind != kArray || h.elem == nil {
			return n
		}
		items := hintedNode(n.items, h.elem)
		if items == n.items {
			return n
		}
		a := *n
		a.items = items
		return &a
	case n.typ == avro.Record:
	case hintApplies(h, n):
		c = h
	}
	if c == nil {
		return n
	}
	leaf := *n
	leaf.c = c
	return &leaf
}

// hintApplies reports whether a column hint replaces a plain Avro leaf: one
// that adds meaning (a decimal read as a string or double, ...), a
// declared smallint or integer narrower than the leaf's int or long, a
// declared integer type over a float, a double or decimal text, or a
// declared real over a double, which the column rounds to a float32.
func hintApplies(h *codec, leaf *avroNode) bool {
	switch h.kind {
	case kInt:
		if leaf.typ == avro.Double || leaf.typ == avro.Float || leaf.typ == avro.String {
			return true // the column holds integers: 3.7 and "12.50" are refused (see declaredInt)
		}
		return h.bits != 0 && (leaf.typ == avro.Long || (leaf.typ == avro.Int && h.bits < 32))
	case kFloat:
		return h.bits == 32 && leaf.typ == avro.Double
	case kNatural, kBool, kString, kText, kStruct:
		return false
	}
	return true
}

// nonNullBranch returns X of a union [null, X].
func nonNullBranch(u *avroNode) *avroNode {
	var x *avroNode
	for _, b := range u.union {
		if b.typ == avro.Null {
			continue
		}
		if x != nil {
			return nil
		}
		x = b
	}
	return x
}

// avroReader reads the Avro binary encoding.
type avroReader struct {
	b   []byte
	pos int
	// items counts the array and map items read so far (see blocks).
	items int
}

func (r *avroReader) long() (int64, error) {
	v, n := binary.Uvarint(r.b[r.pos:])
	if n <= 0 {
		return 0, bad("truncated or oversized Avro varint at byte %d", r.pos)
	}
	r.pos += n
	return int64(v>>1) ^ -int64(v&1), nil // zigzag
}

func (r *avroReader) bytes() ([]byte, error) {
	n, err := r.long()
	if err != nil {
		return nil, err
	}
	if n < 0 || n > int64(len(r.b)-r.pos) {
		return nil, bad("Avro length %d exceeds the record", n)
	}
	out := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return out, nil
}

func (r *avroReader) fixed(n int) ([]byte, error) {
	if n < 0 || n > len(r.b)-r.pos {
		return nil, bad("truncated Avro fixed")
	}
	out := r.b[r.pos : r.pos+n]
	r.pos += n
	return out, nil
}

// value reads one value of node n and converts it.
func (r *avroReader) value(n *avroNode, depth int, unchanged *[]string) (any, error) {
	if depth > maxAvroDepth {
		return nil, bad("Avro value nested too deeply")
	}
	switch n.typ {
	case avro.Null:
		return nil, nil
	case avro.Boolean:
		b, err := r.fixed(1)
		if err != nil {
			return nil, err
		}
		if b[0] > 1 { // the spec: "either 0 (false) or 1 (true)"
			return nil, bad("Avro boolean byte %d is neither 0 nor 1", b[0])
		}
		return convertLeaf(n.c, b[0] == 1)
	case avro.Int, avro.Long:
		v, err := r.long()
		if err != nil {
			return nil, err
		}
		if n.typ == avro.Int && (v < math.MinInt32 || v > math.MaxInt32) {
			return nil, bad("Avro int %d out of range", v)
		}
		return convertLeaf(n.c, v)
	case avro.Float:
		b, err := r.fixed(4)
		if err != nil {
			return nil, err
		}
		// As the shortest decimal that reads back as the same float32, the
		// way Debezium's JSON converter prints it: float64(f) would show
		// 0.1 as 0.10000000149011612.
		return convertLeaf(n.c, shortReal(math.Float32frombits(binary.LittleEndian.Uint32(b))))
	case avro.Double:
		b, err := r.fixed(8)
		if err != nil {
			return nil, err
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(b))
		if f == 0 {
			f = 0 // not -0, which PostgreSQL's jsonb reads as 0
		}
		return convertLeaf(n.c, f)
	case avro.String:
		b, err := r.bytes()
		if err != nil {
			return nil, err
		}
		return convertLeaf(n.c, string(validText(b)))
	case avro.Bytes:
		b, err := r.bytes()
		if err != nil {
			return nil, err
		}
		return convertLeaf(n.c, append([]byte(nil), b...))
	case avro.Fixed:
		b, err := r.fixed(n.size)
		if err != nil {
			return nil, err
		}
		return convertLeaf(n.c, append([]byte(nil), b...))
	case avro.Enum:
		i, err := r.long()
		if err != nil {
			return nil, err
		}
		if i < 0 || i >= int64(len(n.symbols)) {
			return nil, bad("Avro enum index %d out of range", i)
		}
		return n.symbols[i], nil
	case avro.Union:
		i, err := r.long()
		if err != nil {
			return nil, err
		}
		if i < 0 || i >= int64(len(n.union)) {
			return nil, bad("Avro union index %d out of range", i)
		}
		return r.value(n.union[i], depth+1, unchanged)
	case avro.Record:
		return r.record(n, depth, unchanged)
	case avro.Array:
		out := []any{}
		err := r.blocks(func(i int) error {
			v, err := r.value(n.items, depth+1, nil)
			if err != nil {
				return prefixErr(err, indexSeg(i))
			}
			out = append(out, v)
			return nil
		})
		return out, err
	case avro.Map:
		out := map[string]any{}
		err := r.blocks(func(int) error {
			k, err := r.bytes()
			if err != nil {
				return err
			}
			key := string(validText(k))
			v, err := r.value(n.items, depth+1, nil)
			if err != nil {
				return prefixErr(err, key)
			}
			out[key] = v
			return nil
		})
		return out, err
	}
	return nil, bad("unsupported Avro type %s", n.typ)
}

// blocks reads the blocks of an array or map, calling item for each item.
// Items may take no bytes (null, an empty record), so their number is not
// trusted but bounded by the record's size, across the whole record: a
// bound per array would let arrays of arrays of nulls turn a few
// kilobytes into billions of values.
func (r *avroReader) blocks(item func(i int) error) error {
	limit := len(r.b) + 16
	total := 0
	for {
		count, err := r.long()
		if err != nil {
			return err
		}
		if count == 0 {
			return nil
		}
		if count < 0 {
			count = -count
			if _, err := r.long(); err != nil { // the block's size in bytes
				return err
			}
		}
		if count > int64(limit-r.items) || count < 0 {
			return bad("Avro block of %d items exceeds the record", count)
		}
		r.items += int(count)
		for range count {
			if err := item(total); err != nil {
				return err
			}
			total++
		}
	}
}

func (r *avroReader) record(n *avroNode, depth int, unchanged *[]string) (any, error) {
	m := make(map[string]any, len(n.fields))
	for _, f := range n.fields {
		v, err := r.value(f.n, depth+1, nil)
		if err != nil {
			return nil, prefixErr(err, f.name)
		}
		if n.row && isPlaceholderValue(v) {
			if unchanged != nil {
				*unchanged = append(*unchanged, f.name)
			}
			continue
		}
		m[f.name] = v
	}
	if n.c != nil && n.c.kind == kVarDecimal {
		v, err := varDecimalFromMap(m)
		if d, ok := v.(decimal.Decimal); ok && err == nil {
			if n.c.to != nil {
				return heldDecimal(n.c.to, d) // an integer type declared
			}
			return declaredDecimal(n.c, d) // numeric(p,s) declared: its scale, its digits
		}
		return v, err
	}
	return m, nil
}

func varDecimalFromMap(m map[string]any) (any, error) {
	raw, ok := m["value"].([]byte)
	if !ok {
		return nil, nil
	}
	scale, _ := m["scale"].(int64)
	return unscaledDecimal(raw, scale)
}

// convertLeaf applies a leaf codec to a value read from Avro.
func convertLeaf(c *codec, v any) (any, error) {
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		if c != nil && c.kind == kInt {
			return declaredInt(c, f) // no integer column holds it
		}
		// Any double or float, declared or not: JSON cannot hold it.
		return floatNonFinite(c, f)
	}
	if c == nil || isPlaceholderValue(v) {
		return v, nil
	}
	if c.bad != "" {
		return nil, bad("%s", c.bad)
	}
	switch v := v.(type) {
	case int64:
		switch c.kind {
		case kDate, kTime, kTimestamp, kZonedTimestamp, kInterval:
			return temporalFromInt(c, v)
		case kFloat:
			return c.fitFloat(float64(v))
		case kInt:
			return c.fitInt(v)
		case kDecimal:
			return declaredDecimal(c, decimal.NewFromInt(v))
		}
		return v, nil
	case float64:
		if c.kind == kDecimal {
			d, ok := decimalLiteral([]byte(doubleText(v)))
			if !ok {
				return nil, bad("decimal %v is out of range", v)
			}
			return declaredDecimal(c, d)
		}
		switch c.kind {
		case kFloat:
			return c.fitFloat(v)
		case kInt:
			return declaredInt(c, v)
		}
		return v, nil
	case string:
		switch c.kind {
		case kDecimal, kVarDecimal:
			if s, ok := nonFiniteDecimal([]byte(v)); ok {
				return declaredNonFinite(c, s)
			}
			d, ok := decimalLiteral([]byte(v))
			if !ok {
				return nil, bad("expected a decimal, found %s", brief(v))
			}
			return declaredDecimal(c, d)
		case kDate, kTime, kTimestamp, kZonedTimestamp, kZonedTime, kInterval:
			return temporalFromString(c, v)
		case kUUID:
			return canonicalUUID([]byte(v))
		case kJSON:
			if !json.Valid([]byte(v)) {
				return nil, bad("Json column does not hold valid JSON")
			}
			return jsonText([]byte(v))
		case kEnumSet:
			return enumSetFromString(v), nil
		case kInt:
			return declaredIntText(c, v)
		case kBytes:
			b, err := decodeBase64([]byte(v))
			if err != nil {
				return nil, err
			}
			return b, nil
		}
		return v, nil
	case []byte:
		if c.kind == kDecimal {
			if !c.scaleKnown {
				return nil, bad("decimal has no known scale")
			}
			d, err := unscaledDecimal(v, int64(c.scale))
			if err != nil || c.to == nil {
				return d, err
			}
			return heldDecimal(c.to, d)
		}
		return v, nil
	}
	return v, nil
}

// floatNonFinite writes a NaN or an infinity, which JSON cannot hold, as the
// strings Jackson writes; one in a declared numeric(p,s) must be NaN.
func floatNonFinite(c *codec, v float64) (any, error) {
	s := "NaN"
	switch {
	case math.IsInf(v, 1):
		s = "Infinity"
	case math.IsInf(v, -1):
		s = "-Infinity"
	}
	if c != nil && c.kind == kDecimal {
		return declaredNonFinite(c, s)
	}
	return s, nil
}
