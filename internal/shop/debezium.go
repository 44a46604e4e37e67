package shop

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// Message is one Kafka record as Debezium would write it. A nil Value is a
// tombstone.
type Message struct {
	Topic      string
	Key, Value []byte
}

// Topics of the shop, as the example's Debezium connectors name them.
const (
	TopicProducts   = "shop.public.products"
	TopicOrders     = "shop.public.orders"
	TopicOrderItems = "shop.public.order_items"
	TopicUsers      = "shopmongo.shop.users"
)

// column is one column of a PostgreSQL table as Debezium's JsonConverter
// describes it in a schema.
type column struct {
	name   string
	schema map[string]any
	encode func(v any) any // Go value → payload value
}

func int64Col(name string, optional bool) column {
	return column{name, map[string]any{"type": "int64", "optional": optional, "field": name}, func(v any) any { return v }}
}

func int32Col(name string) column {
	return column{name, map[string]any{"type": "int32", "optional": true, "field": name}, func(v any) any { return v }}
}

func textCol(name string) column {
	return column{name, map[string]any{"type": "string", "optional": true, "field": name}, func(v any) any { return v }}
}

// decimalCol is numeric(p,s) with decimal.handling.mode=precise: the
// unscaled value as big-endian two's-complement bytes, base64 in JSON.
func decimalCol(name string, precision, scale int) column {
	return column{name, map[string]any{
		"type": "bytes", "optional": true, "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
		"parameters": map[string]any{"scale": fmt.Sprint(scale), "connect.decimal.precision": fmt.Sprint(precision)},
		"field":      name,
	}, func(v any) any {
		if v == nil {
			return nil
		}
		return base64.StdEncoding.EncodeToString(TwosComplement(v.(decimal.Decimal).Shift(int32(scale)).BigInt()))
	}}
}

// zonedCol is timestamptz: an ISO-8601 string in UTC.
func zonedCol(name string) column {
	return column{name, map[string]any{"type": "string", "optional": true, "name": "io.debezium.time.ZonedTimestamp", "version": 1, "field": name},
		func(v any) any {
			if v == nil {
				return nil
			}
			return v.(time.Time).UTC().Format("2006-01-02T15:04:05.000000Z")
		}}
}

// microTimestampCol is timestamp (without time zone): microseconds since the epoch.
func microTimestampCol(name string) column {
	return column{name, map[string]any{"type": "int64", "optional": true, "name": "io.debezium.time.MicroTimestamp", "version": 1, "field": name},
		func(v any) any {
			if v == nil {
				return nil
			}
			return v.(time.Time).UnixMicro()
		}}
}

// TwosComplement is n as the big-endian two's complement bytes Kafka
// Connect's Decimal logical type carries (the fewest that hold it).
func TwosComplement(n *big.Int) []byte {
	if n.Sign() >= 0 {
		b := n.Bytes()
		if len(b) == 0 || b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return b
	}
	// -n in two's complement: 2^(8k) - |n| for the smallest k that fits.
	abs := new(big.Int).Neg(n)
	k := len(abs.Bytes()) + 1
	mod := new(big.Int).Lsh(big.NewInt(1), uint(8*k))
	b := new(big.Int).Sub(mod, abs).Bytes()
	for len(b) > 1 && b[0] == 0xff && b[1]&0x80 != 0 {
		b = b[1:]
	}
	return b
}

// PostgresSourceSchema is the JsonConverter schema of the source block of
// Debezium's PostgreSQL connector (2.x).
func PostgresSourceSchema() map[string]any {
	return map[string]any{"type": "struct", "optional": false, "name": "io.debezium.connector.postgresql.Source", "field": "source",
		"fields": []any{
			map[string]any{"type": "string", "optional": false, "field": "version"},
			map[string]any{"type": "string", "optional": false, "field": "connector"},
			map[string]any{"type": "string", "optional": false, "field": "name"},
			map[string]any{"type": "int64", "optional": false, "field": "ts_ms"},
			map[string]any{"type": "string", "optional": true, "name": "io.debezium.data.Enum", "version": 1,
				"parameters": map[string]any{"allowed": "true,last,false,incremental"}, "default": "false", "field": "snapshot"},
			map[string]any{"type": "string", "optional": false, "field": "db"},
			map[string]any{"type": "string", "optional": true, "field": "sequence"},
			map[string]any{"type": "string", "optional": false, "field": "schema"},
			map[string]any{"type": "string", "optional": false, "field": "table"},
			map[string]any{"type": "int64", "optional": true, "field": "txId"},
			map[string]any{"type": "int64", "optional": true, "field": "lsn"},
			map[string]any{"type": "int64", "optional": true, "field": "xmin"},
		}}
}

// table is a PostgreSQL table captured by the shop's connector.
type table struct {
	name    string
	columns []column
	schema  []byte // the value schema, serialised once
	keySch  []byte
}

func newTable(name string, cols ...column) *table {
	t := &table{name: name, columns: cols}
	fields := make([]any, len(cols))
	for i, c := range cols {
		fields[i] = c.schema
	}
	row := func(field string) map[string]any {
		return map[string]any{"type": "struct", "fields": fields, "optional": true, "name": "shop.public." + name + ".Value", "field": field}
	}
	source := PostgresSourceSchema()
	envelope := map[string]any{"type": "struct", "optional": false, "name": "shop.public." + name + ".Envelope", "version": 2,
		"fields": []any{row("before"), row("after"), source,
			map[string]any{"type": "string", "optional": false, "field": "op"},
			map[string]any{"type": "int64", "optional": true, "field": "ts_ms"},
		}}
	t.schema, _ = json.Marshal(envelope)
	t.keySch, _ = json.Marshal(map[string]any{"type": "struct", "optional": false, "name": "shop.public." + name + ".Key",
		"fields": []any{map[string]any{"type": "int64", "optional": false, "field": "id"}}})
	return t
}

var (
	productsTable = newTable("products", int64Col("id", false), textCol("name"), decimalCol("price", 10, 2),
		textCol("category"), zonedCol("updated_at"))
	ordersTable = newTable("orders", int64Col("id", false), textCol("user_id"), textCol("status"),
		decimalCol("total_amount", 10, 2), microTimestampCol("created_at"))
	itemsTable = newTable("order_items", int64Col("id", false), int64Col("order_id", true), int64Col("product_id", true),
		int32Col("quantity"), decimalCol("unit_price", 10, 2))
)

// pgMessage encodes one change of a row (id and values by column name) as
// Debezium's PostgreSQL connector does with JsonConverter schemas enabled.
func pgMessage(t *table, op string, id int64, before, after map[string]any, lsn, txID int64, tsMs int64, snapshot string) Message {
	// Written by hand in the connector's field order: json.Marshal of maps
	// (sorted keys, reflection) made generating a long workload slow,
	// above all under the race detector.
	v := make([]byte, 0, len(t.schema)+700)
	v = append(v, `{"schema":`...)
	v = append(v, t.schema...)
	v = append(v, `,"payload":{"before":`...)
	v = t.appendRow(v, before)
	v = append(v, `,"after":`...)
	v = t.appendRow(v, after)
	v = fmt.Appendf(v, `,"source":{"version":"2.7.3.Final","connector":"postgresql","name":"shop","ts_ms":%d,`+
		`"snapshot":%q,"db":"shop","sequence":%q,"schema":"public","table":%q,"txId":%d,"lsn":%d,"xmin":null},`+
		`"op":%q,"ts_ms":%d}}`,
		tsMs, snapshot, fmt.Sprintf(`["%d","%d"]`, lsn-8, lsn), t.name, txID, lsn, op, tsMs+3)
	key := fmt.Sprintf(`{"schema":%s,"payload":{"id":%d}}`, t.keySch, id)
	return Message{Topic: "shop.public." + t.name, Key: []byte(key), Value: v}
}

// appendRow appends a row's JSON, its columns in table order.
func (t *table) appendRow(b []byte, row map[string]any) []byte {
	if row == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	for i, c := range t.columns {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, c.name)
		b = append(b, ':')
		enc, err := json.Marshal(c.encode(row[c.name]))
		if err != nil {
			enc = []byte("null") // the shop's values are all plain
		}
		b = append(b, enc...)
	}
	return append(b, '}')
}

// pgTruncate is the event of a TRUNCATE of the table: no key, no rows.
func pgTruncate(t *table, lsn, txID int64, tsMs int64) Message {
	v := make([]byte, 0, len(t.schema)+400)
	v = append(v, `{"schema":`...)
	v = append(v, t.schema...)
	v = fmt.Appendf(v, `,"payload":{"before":null,"after":null,"source":{"version":"2.7.3.Final","connector":"postgresql","name":"shop","ts_ms":%d,`+
		`"snapshot":"false","db":"shop","sequence":%q,"schema":"public","table":%q,"txId":%d,"lsn":%d,"xmin":null},`+
		`"op":"t","ts_ms":%d}}`, tsMs, fmt.Sprintf(`["%d","%d"]`, lsn-8, lsn), t.name, txID, lsn, tsMs+3)
	return Message{Topic: "shop.public." + t.name, Value: v}
}

// pgTombstone is the null-valued record Debezium writes after a delete.
func pgTombstone(t *table, id int64) Message {
	key := fmt.Sprintf(`{"schema":%s,"payload":{"id":%d}}`, t.keySch, id)
	return Message{Topic: "shop.public." + t.name, Key: []byte(key)}
}

// mongoMessage encodes a change of a users document as Debezium's MongoDB
// connector does (schemaless JsonConverter, change_streams_update_full):
// after is a string of Extended JSON, the key holds the _id as Extended JSON.
func mongoMessage(op string, u *User, tsSec int64, ord int64, snapshot string) Message {
	var after any
	if u.Doc != nil {
		b, _ := json.Marshal(map[string]any{"_id": map[string]any{"$oid": u.ID}, "name": u.Doc.Name, "email": u.Doc.Email, "status": u.Doc.Status})
		after = string(b)
	}
	payload := map[string]any{
		"before": nil, "after": after, "updateDescription": nil,
		"source": map[string]any{
			"version": "2.7.0.Final", "connector": "mongodb", "name": "shopmongo", "ts_ms": tsSec * 1000,
			"snapshot": snapshot, "db": "shop", "sequence": nil, "collection": "users", "ord": ord,
			"lsid": nil, "txnNumber": nil, "wallTime": tsSec*1000 + 1,
		},
		"op": op, "ts_ms": tsSec*1000 + 5,
	}
	v, _ := json.Marshal(payload)
	k, _ := json.Marshal(map[string]any{"id": fmt.Sprintf(`{"$oid": "%s"}`, u.ID)})
	return Message{Topic: TopicUsers, Key: k, Value: v}
}

// mongoTombstone is the null-valued record the MongoDB connector writes
// after a delete (tombstones.on.delete defaults to true).
func mongoTombstone(id string) Message {
	k, _ := json.Marshal(map[string]any{"id": fmt.Sprintf(`{"$oid": "%s"}`, id)})
	return Message{Topic: TopicUsers, Key: k}
}
