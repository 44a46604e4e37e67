package debezium

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// Format is the serialisation of a record's value (and key).
type Format int

const (
	// FormatAuto detects the form of each record: Confluent Avro framing,
	// JsonConverter with or without schemas, a Debezium envelope, transaction
	// metadata, a heartbeat, a schema change, or an unwrapped row.
	FormatAuto Format = iota
	// FormatJSON is JsonConverter output of the Debezium envelope (or of the
	// transaction, heartbeat and schema-change records), schemas on or off.
	FormatJSON
	// FormatAvro is Confluent's AvroConverter: magic byte 0, a 4-byte
	// big-endian schema id, then the Avro binary body.
	FormatAvro
	// FormatUnwrapped is JSON output of ExtractNewRecordState or
	// ExtractNewDocumentState: the row itself, plus "__" metadata fields.
	FormatUnwrapped
)

func (f Format) String() string {
	switch f {
	case FormatAuto:
		return "auto"
	case FormatJSON:
		return "json"
	case FormatAvro:
		return "avro"
	case FormatUnwrapped:
		return "unwrapped"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat parses "", "auto", "json", "avro" or "unwrapped".
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return FormatAuto, nil
	case "json":
		return FormatJSON, nil
	case "avro":
		return FormatAvro, nil
	case "unwrapped":
		return FormatUnwrapped, nil
	}
	return 0, fmt.Errorf("debezium: unknown format %q (want auto, json, avro or unwrapped)", s)
}

// Options configure a Decoder.
type Options struct {
	Format Format
	// Columns are the source's declared columns: name → SQL type as written
	// in the YAML ("bigint", "numeric(10,2)", "timestamptz", "text[]", ...).
	// They tell what schemaless JSON cannot: a precise decimal's scale, that
	// an integer is a date or a timestamp, that a string holds JSON or a
	// UUID. With a schema they refine only fields the schema leaves plain
	// (decimal.handling.mode=string or double, a json column read as text),
	// but a column declared text keeps the text of a logical string (a
	// Json, a ZonedTime) as written, as it reads without a schema.
	// A decimal column's string is read as decimal text when it is one
	// ("12.50", mode string) and as base64 otherwise (mode precise), so a
	// base64 value made only of digits is ambiguous without a schema.
	// Unknown type names (inet, user-defined types, ...) are accepted and
	// leave the JSON value as it is.
	Columns map[string]string
	// TimestampUnit is the unit of a schemaless integer timestamp or time
	// column: "ms", "us" or "ns". By default it is the unit Debezium's
	// default time.precision.mode (adaptive) sends for the declared type:
	// microseconds for timestamp and time of precision 4..6 or none (a
	// MicroTimestamp, a MicroTime), milliseconds for precision 0..3 and for
	// timestamptz. With time.precision.mode=connect, every one is in
	// milliseconds: declare the columns timestamp(3) and time(3).
	TimestampUnit string
	// Key are the source's key columns, when declared. A key printed by
	// Kafka Connect's StringConverter (Struct{dn=cn=admins,ou=people})
	// has no quoting: knowing the key's fields, a text one ends only
	// where another of them starts, not at any ",name=" its text holds.
	Key []string
	// FieldsPrefix is the SMT's add.fields.prefix: the start of the names
	// of the metadata members of an unwrapped row ("meta_" for meta_op,
	// meta_lsn, meta_deleted). Default "__", the SMT's own.
	FieldsPrefix string
	// HeadersPrefix is the SMT's add.headers.prefix: the start of the
	// names of the headers that position a delete's tombstone (see
	// DecodeRecord). Default "__".
	HeadersPrefix string
}

// Decoder turns Kafka records into Changes. It is safe for concurrent use.
type Decoder struct {
	format Format
	hints  map[string]*codec
	// textual are the columns declared with a text type: a key field of
	// theirs in Struct{...} form stays a string, "007" too.
	textual map[string]bool
	// keyFields are Options.Key.
	keyFields []string
	// fields and headers are Options.FieldsPrefix and HeadersPrefix.
	fields, headers metaPrefix

	strings interner // source names shared between records

	mu    sync.RWMutex
	plain *compiled // schemaless JSON: column hints only
	// mongoPlain is plain for a schemaless MongoDB document after
	// ExtractNewDocumentState, nil when no declared column differs there
	// (see mongoRowHints).
	mongoPlain *compiled
	schemas    map[schemaKey]*compiled // parsed JSON schemas by fingerprint
	// prefixes finds a cached schema from the first bytes of a record, so
	// that a known schema is matched by one comparison instead of a scan.
	prefixes map[schemaKey][]*knownSchema
	// schemaBytes is what schemas and prefixes hold, as schemaSize
	// estimates it.
	schemaBytes int
	avro        avroRegistry
}

// schemaKey identifies a cached schema: the fingerprint of its raw bytes and
// the role it is used in (a record key and a value compile differently).
type schemaKey struct {
	sum  uint64
	size int
	role schemaRole
}

type schemaRole uint8

const (
	roleValue schemaRole = iota + 1 // a value: envelope, metadata or unwrapped row
	roleRow                         // a key, or a value read as an unwrapped row
)

// maxCachedSchemas and maxSchemaBytes bound the cache against a stream of
// ever-new schemas: a cached schema holds about three times its text, so a
// count alone lets large schemas fill gigabytes. A schema over
// maxSchemaBytes by itself is not cached but parsed on every record.
const (
	maxCachedSchemas = 4096
	maxSchemaBytes   = 32 << 20
)

// NewDecoder checks the options and returns a Decoder.
func NewDecoder(opts Options) (*Decoder, error) {
	if opts.Format < FormatAuto || opts.Format > FormatUnwrapped {
		return nil, fmt.Errorf("debezium: unknown format %d", int(opts.Format))
	}
	unit, err := parseUnit(opts.TimestampUnit)
	if err != nil {
		return nil, err
	}
	hints := make(map[string]*codec, len(opts.Columns))
	textual := map[string]bool{}
	var problems []string
	for name, typ := range opts.Columns {
		textual[name] = isTextType(typ)
		c, err := columnCodec(typ, unit)
		if err != nil {
			problems = append(problems, fmt.Sprintf("column %q: %v", name, err))
			continue
		}
		if c != nil {
			hints[name] = c
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return nil, fmt.Errorf("debezium: %s", strings.Join(problems, "; "))
	}
	d := &Decoder{
		format:    opts.Format,
		hints:     hints,
		textual:   textual,
		keyFields: slices.Clone(opts.Key),
		fields:    metaPrefix(cmp.Or(opts.FieldsPrefix, string(defaultPrefix))),
		headers:   metaPrefix(cmp.Or(opts.HeadersPrefix, string(defaultPrefix))),
		plain:     &compiled{row: compileRow(nil, hints)},
		schemas:   make(map[schemaKey]*compiled),
		prefixes:  make(map[schemaKey][]*knownSchema),
	}
	if mh := mongoRowHints(hints); mh != nil {
		d.mongoPlain = &compiled{row: compileRow(nil, mh)}
	}
	return d, nil
}

// isTextType reports whether a declared SQL type holds text.
func isTextType(typ string) bool {
	t := strings.ToLower(strings.TrimSpace(typ))
	if strings.HasSuffix(t, "[]") {
		return false
	}
	for _, p := range []string{"text", "varchar", "character", "char", "uuid", "citext", "bpchar"} {
		if t == p || strings.HasPrefix(t, p+"(") || strings.HasPrefix(t, p+" ") {
			return true
		}
	}
	return false
}

// parseUnit reads a TimestampUnit as nanoseconds per unit; 0 is adaptive.
func parseUnit(s string) (int64, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return 0, nil
	case "ms":
		return 1e6, nil
	case "us", "µs":
		return 1e3, nil
	case "ns":
		return 1, nil
	}
	return 0, fmt.Errorf("debezium: unknown timestamp unit %q (want ms, us or ns)", s)
}

// Decode decodes one record. A nil or empty value is a tombstone (Kind
// KindTombstone with the Key decoded); a truncate has a nil key. Every error
// about the input wraps ErrMalformed; an Avro record whose schema id is not
// known yet returns an error wrapping *UnknownSchemaError.
func (d *Decoder) Decode(key, value []byte) (Change, error) {
	// Confluent's framing starts with a NUL, which no JSON value does: under
	// format unwrapped too, it is ExtractNewRecordState's output in Avro.
	if d.format == FormatAvro || (d.format == FormatAuto || d.format == FormatUnwrapped) && len(value) > 0 && value[0] == 0 {
		return d.decodeAvro(key, value)
	}
	if isNullValue(value) {
		k, err := d.avroKey(key, keyUnknown) // JSON unless Avro-framed
		if err != nil {
			return Change{}, err
		}
		return Change{Kind: KindTombstone, Key: k}, nil
	}
	ch, hint, err := d.decodeJSONValue(value)
	if err != nil {
		return Change{}, err
	}
	if hint == keyMongo || hint == keyMongoUnwrapped {
		if err := d.mongoHints(&ch); err != nil {
			return Change{}, err
		}
	}
	if ch.Kind == KindChange && ch.Op == OpTruncate {
		return ch, nil
	}
	k, err := d.avroKey(key, hint) // JSON unless Avro-framed
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

// isNullValue reports a tombstone: no bytes, or the JSON text null (which
// JsonConverter also reads as a null value). A NUL byte is not the end of
// the value (peek's 0): an Avro record read as JSON is malformed, never a
// tombstone.
func isNullValue(b []byte) bool {
	s := scanner{data: b}
	if s.ws(); s.pos >= len(s.data) {
		return true
	}
	return s.null() && s.end() == nil
}

// schema returns the compiled form of raw, parsing it on first sight.
func (d *Decoder) schema(raw []byte, role schemaRole, at *path) (*compiled, error) {
	k := schemaKey{sum: xxhash.Sum64(raw), size: len(raw), role: role}
	d.mu.RLock()
	c, ok := d.schemas[k]
	d.mu.RUnlock()
	if ok {
		return c, nil
	}
	c, err := compileSchema(raw, role, d.hints, at)
	if err != nil {
		return nil, err
	}
	// The prefix entry's copy of raw is counted even when its list is
	// full: the estimate stays on the safe side.
	size := schemaSize(c) + len(raw)
	if size > maxSchemaBytes {
		return c, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if cached, ok := d.schemas[k]; ok { // compiled meanwhile by another goroutine
		return cached, nil
	}
	if len(d.schemas) >= maxCachedSchemas || d.schemaBytes+size > maxSchemaBytes {
		clear(d.schemas)
		clear(d.prefixes)
		d.schemaBytes = 0
	}
	d.schemas[k] = c
	d.schemaBytes += size
	if len(raw) >= prefixLen {
		pk := schemaKey{sum: xxhash.Sum64(raw[:prefixLen]), role: role}
		if list := d.prefixes[pk]; len(list) < maxPerPrefix {
			// The record buffer is not ours to keep: copy the bytes.
			d.prefixes[pk] = append(list, &knownSchema{raw: bytes.Clone(raw), c: c})
		}
	}
	return c, nil
}

// schemaEntryBytes is what one cache entry holds besides its schema: its
// map entries and its knownSchema.
const schemaEntryBytes = 128

// schemaSize estimates the bytes a compiled schema holds in the cache.
func schemaSize(c *compiled) int {
	return schemaEntryBytes + int(unsafe.Sizeof(*c)) + codecSize(c.row) + codecSize(c.before) + codecSize(c.after)
}

// codecSize is the bytes of c and what it refers to, except a row's map of
// column hints, which every schema of a decoder shares.
func codecSize(c *codec) int {
	if c == nil {
		return 0
	}
	n := int(unsafe.Sizeof(*c)) + len(c.bad) + cap(c.fields)*int(unsafe.Sizeof(field{}))
	for _, f := range c.fields {
		n += len(f.name) + codecSize(f.c)
	}
	return n + codecSize(c.elem)
}

// knownSchema is a cached schema with its exact bytes.
type knownSchema struct {
	raw []byte
	c   *compiled
}

const (
	prefixLen    = 64 // bytes hashed to find the candidates
	maxPerPrefix = 16 // candidates kept per prefix
)

// knownSchema returns the cached schema whose bytes b starts with, and its
// length. A schema is a complete JSON value, so if b starts with its exact
// bytes, the value at the start of b is that schema.
func (d *Decoder) knownSchema(b []byte, role schemaRole) (*compiled, int) {
	if len(b) < prefixLen {
		return nil, 0
	}
	pk := schemaKey{sum: xxhash.Sum64(b[:prefixLen]), role: role}
	d.mu.RLock()
	list := d.prefixes[pk]
	d.mu.RUnlock()
	for _, e := range list {
		if bytes.HasPrefix(b, e.raw) {
			return e.c, len(e.raw)
		}
	}
	return nil, 0
}

// DecodeRow decodes one row given as schemaless JSON, the way the row image
// of a record without a schema is read: the declared column types (Options
// Columns) turn each value into its canonical form (a decimal with its
// scale, a timestamp in UTC, a date from epoch days). Tools that take rows
// without an envelope (`projector test`'s short records) use it so that
// such a row gives the same state as a Debezium record would. Errors wrap
// ErrMalformed.
func (d *Decoder) DecodeRow(raw []byte) (map[string]any, error) {
	st := &dec{s: scanner{data: raw}}
	row, err := st.object(d.plain.row, 0, nil)
	if err != nil {
		return nil, err
	}
	if err := st.s.end(); err != nil {
		return nil, bad("%v", err)
	}
	return row, nil
}

// mongoRowHints are the column hints for a schemaless MongoDB document
// after ExtractNewDocumentState, or nil when they are hints' own: the SMT
// writes a BSON date as epoch milliseconds (MongoDataConverter), whatever
// unit the PostgreSQL connector would give the declared type, so an
// integer in a column declared timestamp, timestamptz, date or time (or
// arrays of them) is an instant in milliseconds, as the envelope's
// {"$date": …} is.
func mongoRowHints(hints map[string]*codec) map[string]*codec {
	var out map[string]*codec
	for name, c := range hints {
		if m := epochMillis(c); m != c {
			if out == nil {
				out = maps.Clone(hints)
			}
			out[name] = m
		}
	}
	return out
}

// epochMillis is c reading integers as epoch milliseconds (c itself when
// it reads no time).
func epochMillis(c *codec) *codec {
	switch c.kind {
	case kArray:
		if e := epochMillis(c.elem); e != c.elem {
			m := *c
			m.elem = e
			return &m
		}
	case kTimestamp, kZonedTimestamp:
		m := *c
		m.unit = int64(time.Millisecond)
		return &m
	case kDate, kTime:
		m := *c
		m.epochMs = true
		return &m
	}
	return c
}
