// Package debezium turns the bytes of a Debezium Kafka record into a Change.
//
// It is pure: no I/O, no clocks, no globals that change after init. Every value
// it produces marshals with encoding/json to its natural form (see Change).
//
// Forms: JsonConverter with or without schemas, Confluent Avro (schemas are
// given with Decoder.AddAvroSchema), and ExtractNewRecordState /
// ExtractNewDocumentState output; PostgreSQL and MongoDB connectors of
// Debezium 0.x to 3.x. Members are read by name, unknown ones are ignored.
//
// Choices made where Debezium leaves room:
//   - An unwrapped record without "__op" or "__deleted" is an upsert and is
//     reported as OpUpdate; "__deleted": "true" is OpDelete with the row in
//     Before.
//   - The TOAST placeholder __debezium_unavailable_value (a string, an array
//     holding only it, a map keyed by it, or its bytes in a bytea column) is
//     removed from the row; in After the column is listed in Unchanged.
//   - Floats that JSON cannot hold (NaN, ±Infinity, and MongoDB's
//     $numberDouble and $numberDecimal of them) are the strings "NaN",
//     "Infinity" and "-Infinity", and so are a numeric's NaN and infinities
//     however they are spelled (Debezium's "NAN", "POSITIVE_INFINITY", ...).
//     PostgreSQL's infinite timestamps are the strings "infinity" and
//     "-infinity"; other dates and timestamps outside years 1..9999 (its BC
//     and far-future values) are malformed.
//   - A value beyond its declared type is malformed, as PostgreSQL would
//     refuse it: smallint and integer (and a schema's int16 and int32) hold
//     16 and 32 bits, an integer type no fraction (a decimal 12.50 or a
//     double 3.7 in one; 12.00 reads 12), numeric(p,s) at most p digits
//     once rounded to s, and NaN but no infinity.
//   - io.debezium.time.MicroDuration is an int64 of microseconds;
//     io.debezium.time.Interval stays its ISO-8601 string.
//   - Strings are valid UTF-8: invalid bytes become U+FFFD, as in encoding/json.
//   - A MongoDB key {"id": "<Extended JSON>"} becomes {"_id": value}. For a
//     tombstone, which says nothing of its connector, only an id holding an
//     Extended JSON wrapper ({"$oid": …}) is converted.
package debezium

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Kind says what a record is. Only KindChange carries row data.
type Kind int

const (
	KindChange       Kind = iota + 1 // a row (document) change: c, u, d, r, t
	KindTombstone                    // a record whose value is null (log compaction marker)
	KindTransaction                  // BEGIN/END on the transaction metadata topic
	KindHeartbeat                    // a heartbeat on __debezium-heartbeat.<prefix>
	KindSchemaChange                 // a schema-change (DDL history) event
	// KindMessage is a PostgreSQL logical decoding message (op "m", from
	// pg_logical_emit_message): an application's note in the WAL, no row.
	KindMessage
)

func (k Kind) String() string {
	switch k {
	case KindChange:
		return "change"
	case KindTombstone:
		return "tombstone"
	case KindTransaction:
		return "transaction"
	case KindHeartbeat:
		return "heartbeat"
	case KindSchemaChange:
		return "schema_change"
	case KindMessage:
		return "message"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Op is the Debezium operation of a change.
type Op int

const (
	OpCreate   Op = iota + 1 // "c"
	OpUpdate                 // "u"
	OpDelete                 // "d"
	OpRead                   // "r": a snapshot read
	OpTruncate               // "t"
)

// String returns the single-letter code Debezium uses.
func (o Op) String() string {
	switch o {
	case OpCreate:
		return "c"
	case OpUpdate:
		return "u"
	case OpDelete:
		return "d"
	case OpRead:
		return "r"
	case OpTruncate:
		return "t"
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// MarshalJSON writes the name String returns ("change", "tombstone", ...).
func (k Kind) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(k.String())), nil
}

// MarshalJSON writes the single-letter code ("c", "u", ...).
func (o Op) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(o.String())), nil
}

// writesRow says whether the op leaves a row behind: a create, an update or
// a snapshot read.
func (o Op) writesRow() bool { return o == OpCreate || o == OpUpdate || o == OpRead }

// ParseOp parses Debezium's single-letter operation code.
func ParseOp(s string) (Op, error) {
	switch s {
	case "c":
		return OpCreate, nil
	case "u":
		return OpUpdate, nil
	case "d":
		return OpDelete, nil
	case "r":
		return OpRead, nil
	case "t":
		return OpTruncate, nil
	}
	return 0, fmt.Errorf("%w: op %q", ErrMalformed, s)
}

// Source is the origin of a change, from the envelope's "source" block (or the
// __source_* / __table / __lsn fields of an unwrapped record).
type Source struct {
	Connector  string `json:"connector,omitempty"` // "postgresql", "mongodb"
	Name       string `json:"name,omitempty"`      // topic prefix
	DB         string `json:"db,omitempty"`
	Schema     string `json:"schema,omitempty"`
	Table      string `json:"table,omitempty"`
	Collection string `json:"collection,omitempty"`
	// Snapshot is "" for a streamed change, otherwise Debezium's marker as a
	// string ("true", "first", "last", "first_in_data_collection",
	// "last_in_data_collection", "incremental"); an old boolean true is "true",
	// and "false" is normalised to "".
	Snapshot string `json:"snapshot,omitempty"`
	LSN      *int64 `json:"lsn,omitempty"`   // PostgreSQL
	TxID     *int64 `json:"tx_id,omitempty"` // PostgreSQL
	// CommitLSN is PostgreSQL's last committed LSN, the first element of
	// source.sequence (Debezium 1.4+), when it names one.
	CommitLSN *int64 `json:"commit_lsn,omitempty"`
	TsMs      *int64 `json:"ts_ms,omitempty"` // source.ts_ms
	Ord       *int64 `json:"ord,omitempty"`   // MongoDB oplog ordinal
}

// Position orders the changes of one source. Positions of different sources
// are not comparable. For MongoDB Hi is the oplog timestamp in seconds and
// Lo its ordinal. For PostgreSQL with source.sequence, Hi is the greater
// of its last committed LSN and the change's LSN, and Lo the change's LSN.
// pgoutput sends transactions in commit order, so the LSNs of changes are
// not monotonic across transactions: an incremental snapshot's read of a
// row, emitted at the close of its window, can carry a higher LSN than the
// update of a transaction that committed after it, whose last committed
// LSN is higher still. The greater of the two keeps Debezium's order (a
// transaction's changes share the committed LSN before them, which the
// next transaction's exceeds, its own commit being later than each of its
// changes) and never falls below the change's own LSN, so a position read
// from the WAL (`rebuild --from source`'s snapshot at
// pg_current_wal_lsn(), as Hi with Lo 0) is older than every change
// written after it. Without a committed LSN (no sequence, or its first
// element null) Hi is the LSN and Lo 0, except for the reads of a
// snapshot, whose Lo is SnapshotLo (see Replaces). The zero
// Position is "unknown" and is older than every known one.
type Position struct {
	Hi, Lo int64
}

// SnapshotLo is the Lo of a PostgreSQL snapshot read that names no
// committed LSN: the reads of an initial snapshot, all at the snapshot's
// LSN, and those of an incremental one unwrapped without __sequence. It
// sorts them just below a streamed change at the same LSN.
const SnapshotLo = -1

// ReadAtLSN is the snapshot marker of the reads projector takes itself
// (rebuild --from source), at a WAL position read with them: ordered by
// that LSN alone, as a streamed change is, so that a change from before
// it, which the read saw, cannot replace it as it could a snapshot's read.
const ReadAtLSN = "projector_read_at_lsn"

// Replaces reports whether a change at p replaces a row stored at q: p is
// not older than q, or q is an initial snapshot's read and p a streamed
// change whose transaction names no committed LSN (Lo 0, Hi its LSN).
//
// Such a change belongs to the first transaction the connector streamed
// after its snapshot, which committed after the snapshot was taken (the
// snapshot would have read it otherwise, and it would not be streamed), so
// it is newer than every read of that snapshot. Its LSN may still be below
// the snapshot's: a transaction open across the snapshot wrote the row
// before it. Nothing else orders the two: the transactions after it name
// its commit, above the snapshot's LSN, and compare as usual. An
// incremental snapshot's read without a committed LSN (unwrapped by the
// SMT without __sequence) is ordered alike: its chunk is emitted at its
// window's close with that LSN, and a change of the row committed in the
// window removed the row from the chunk (Debezium's de-duplication), so a
// change streamed after the read committed after it, though a
// transaction open across the window may have written it at a lower LSN.
// Without committed LSNs only the order of arrival tells such changes
// apart; a replay that stops between them (a rebuild --from signal beside
// running daemons) can leave the read: add.fields should name sequence.
func (p Position) Replaces(q Position) bool {
	if q.Lo == SnapshotLo && p.Lo == 0 && p.Hi > 0 {
		return true
	}
	return p.Compare(q) >= 0
}

// Compare returns -1, 0 or +1 as p is older than, equal to or newer than q.
func (p Position) Compare(q Position) int {
	switch {
	case p.Hi < q.Hi:
		return -1
	case p.Hi > q.Hi:
		return 1
	case p.Lo < q.Lo:
		return -1
	case p.Lo > q.Lo:
		return 1
	}
	return 0
}

func (p Position) String() string {
	return strconv.FormatInt(p.Hi, 10) + "/" + strconv.FormatInt(p.Lo, 10)
}

// Patch is a partial MongoDB update (1.x oplog "patch", or a change-streams
// update without a full document): dotted paths to set and to remove.
type Patch struct {
	Set   map[string]any `json:"set"`
	Unset []string       `json:"unset"`
	// Truncated maps an array field to its new, shorter length (change
	// streams' updateDescription.truncatedArrays).
	Truncated map[string]int64 `json:"truncated,omitempty"`
}

// Transaction is the payload of a transaction metadata record.
type Transaction struct {
	Status          string           `json:"status"` // "BEGIN" or "END"
	ID              string           `json:"id"`     // "txId:LSN" for PostgreSQL
	EventCount      *int64           `json:"event_count,omitempty"`
	DataCollections []DataCollection `json:"data_collections,omitempty"`
	TsMs            *int64           `json:"ts_ms,omitempty"`
}

// DataCollection counts the events of one table in a transaction.
type DataCollection struct {
	Name       string `json:"data_collection"`
	EventCount int64  `json:"event_count"`
}

// Change is one decoded Debezium record.
//
// Row values (Key, Before, After, Patch.Set) use only these Go types, each of
// which marshals with encoding/json to its natural form:
//
//	nil, bool, int64, float64, string, []any, map[string]any,
//	decimal.Decimal (github.com/shopspring/decimal; exact digits, JSON string),
//	time.Time (UTC; timestamps), Date, TimeOfDay, json.RawMessage (Json columns),
//	[]byte (bytes; base64).
//
// UUIDs and MongoDB ObjectIds are strings (canonical UUID, 24-digit hex).
type Change struct {
	Kind     Kind           `json:"kind"`
	Op       Op             `json:"op"`
	Source   Source         `json:"source"`
	Position Position       `json:"-"`
	Key      map[string]any `json:"key"`
	Before   map[string]any `json:"before"`
	After    map[string]any `json:"after"`
	// Unchanged lists the columns whose value was the TOAST placeholder
	// __debezium_unavailable_value: they are absent from After and the stored
	// value must be kept.
	Unchanged   []string     `json:"unchanged,omitempty"`
	Patch       *Patch       `json:"patch,omitempty"`
	Transaction *Transaction `json:"transaction,omitempty"`
	// SchemaChange is set for KindSchemaChange.
	SchemaChange *SchemaChange `json:"schema_change,omitempty"`
}

// SchemaChange is the payload of a schema change (DDL history) event.
type SchemaChange struct {
	DatabaseName string          `json:"database_name,omitempty"`
	SchemaName   string          `json:"schema_name,omitempty"`
	DDL          string          `json:"ddl,omitempty"`
	TableChanges json.RawMessage `json:"table_changes,omitempty"`
}
