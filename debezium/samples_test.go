package debezium

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// TestSampleFacts asserts what SOURCES.md says each fixture decodes to. The
// golden files pin the whole output; these name the facts that matter.
func TestSampleFacts(t *testing.T) {
	samples := map[string]sample{}
	for _, s := range loadSamples(t) {
		samples[s.name] = s
	}
	tests := []struct {
		name  string
		check func(t *testing.T, ch Change)
	}{
		{"postgres/create_schemaless", func(t *testing.T, ch Change) {
			wantOp(t, ch, OpCreate)
			wantNil(t, "before", ch.Before)
			wantVal(t, ch.After, "id", "w1")
			wantVal(t, ch.After, "name", "gadget")
			wantVal(t, ch.After, "active", true)
			wantInt(t, "lsn", ch.Source.LSN, 314477488)
			wantInt(t, "txId", ch.Source.TxID, 65249)
			wantInt(t, "ts_ms", ch.Source.TsMs, 1790710562903)
			wantInt(t, "commit lsn", ch.Source.CommitLSN, 306218576)
			wantPos(t, ch, Position{Hi: 314477488, Lo: 314477488}) // source.sequence: max(commit, lsn), lsn
			wantEq(t, "snapshot", ch.Source.Snapshot, "")
		}},
		{"postgres/update_default_identity_schemaless", func(t *testing.T, ch Change) {
			wantOp(t, ch, OpUpdate)
			wantNil(t, "before", ch.Before)
			wantVal(t, ch.After, "name", "gadget2")
			wantVal(t, ch.After, "active", false)
		}},
		{"postgres/delete_default_identity_schemaless", func(t *testing.T, ch Change) {
			wantOp(t, ch, OpDelete)
			wantNil(t, "after", ch.After)
			wantVal(t, ch.Before, "id", "w1")
			wantVal(t, ch.Before, "name", "")
			wantVal(t, ch.Before, "active", false)
		}},
		{"postgres/create_with_schema", func(t *testing.T, ch Change) {
			wantOp(t, ch, OpCreate)
			wantVal(t, ch.After, "id", int64(8))
			wantVal(t, ch.After, "name", "test1")
			wantInt(t, "lsn", ch.Source.LSN, 26863936)
			wantInt(t, "txId", ch.Source.TxID, 780)
			wantPos(t, ch, Position{Hi: 26863936, Lo: 26863936}) // source.sequence: max(commit, lsn), lsn
		}},
		{"postgres/snapshot_read_first", func(t *testing.T, ch Change) {
			wantOp(t, ch, OpRead)
			wantEq(t, "snapshot", ch.Source.Snapshot, "first")
			wantVal(t, ch.After, "id", int64(1001))
			wantVal(t, ch.After, "email", "sally.thomas@acme.com")
			wantInt(t, "ts_ms", ch.Source.TsMs, 1755814412998)
			wantPos(t, ch, Position{Hi: 36313560, Lo: SnapshotLo}) // sequence [null, lsn]: an initial snapshot read
		}},
		{"postgres/snapshot_read_true", func(t *testing.T, ch Change) {
			wantEq(t, "snapshot", ch.Source.Snapshot, "true")
			wantVal(t, ch.After, "id", int64(1002))
			wantVal(t, ch.After, "last_name", "Bailey")
		}},
		{"postgres/snapshot_read_last_in_data_collection", func(t *testing.T, ch Change) {
			wantEq(t, "snapshot", ch.Source.Snapshot, "last_in_data_collection")
			wantVal(t, ch.After, "email", "annek@noanswer.org")
		}},
		{"postgres/snapshot_read_first_in_data_collection_double", func(t *testing.T, ch Change) {
			wantEq(t, "snapshot", ch.Source.Snapshot, "first_in_data_collection")
			wantVal(t, ch.After, "weight", 3.14)
			wantVal(t, ch.After, "id", int64(101))
			wantEq(t, "table", ch.Source.Table, "products")
		}},
		{"postgres/update_replica_identity_full_decimal_precise", func(t *testing.T, ch Change) {
			wantOp(t, ch, OpUpdate)
			wantDecimal(t, ch.After, "decimal_test", "123.45")
			wantDecimal(t, ch.After, "decimal_test_5", "123")
			wantDecimal(t, ch.After, "decimal_test_5_2", "123.45")
			wantDecimal(t, ch.After, "decimal_test_39", "58569102859845154622791691858438258688")
			wantDecimal(t, ch.After, "decimal_test_39_2", "585691028598451546227916918584382586.22")
			wantDecimal(t, ch.After, "decimal_test_39_6", "585691028598451546227916918584388.123456")
			wantVal(t, ch.After, "decimal_test_39_0", nil)
			for _, c := range []string{"decimal_test", "decimal_test_5", "decimal_test_39_2", "decimal_test_39_6"} {
				wantVal(t, ch.Before, c, nil)
			}
			wantVal(t, ch.Before, "first_name", "Sally")
		}},
		{"postgres/decimal_precise_schemaless_1x", func(t *testing.T, ch Change) {
			wantOp(t, ch, OpCreate)
			wantDecimal(t, ch.After, "totalprice", "39.98")
			wantVal(t, ch.After, "quantity", int64(2))
			wantVal(t, ch.Key, "id", int64(1))
		}},
		{"postgres/temporal_micro_with_schema_1x", func(t *testing.T, ch Change) {
			wantVal(t, ch.After, "ts", time.Date(2022, 10, 14, 23, 55, 31, 989360000, time.UTC))
			wantVal(t, ch.After, "d", Date{2022, time.October, 14})
			wantVal(t, ch.After, "t", TimeOfDay(23*time.Hour+55*time.Minute+31*time.Second+989360*time.Microsecond))
			wantVal(t, ch.After, "tsz", time.Date(2022, 10, 15, 3, 55, 31, 989360000, time.UTC))
			wantJSON(t, ch.After["t"], `"23:55:31.989360"`)
			wantJSON(t, ch.After["d"], `"2022-10-14"`)
		}},
		{"postgres/uuid_json_bytea_enum_point_payload_only_1x", func(t *testing.T, ch Change) {
			wantVal(t, ch.After, "o_bit", true)
			wantVal(t, ch.After, "o_bytea", []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef})
			wantJSON(t, ch.After["o_json"], `{"k1":"v1","k2":11}`)
			wantVal(t, ch.After, "o_uuid", "60f14fe2-f857-404a-b586-3b5375b3259f")
			wantVal(t, ch.After, "o_enum", "polar")
			wantVal(t, ch.After, "o_xml", "<!--hahaha-->")
			pt, _ := ch.After["o_point"].(map[string]any)
			wantVal(t, pt, "x", 1.0)
			wantVal(t, pt, "y", 2.0)
			wantVal(t, pt, "srid", nil)
			wantJSON(t, pt["wkb"], `"AQEAAAAAAAAAAADwPwAAAAAAAABA"`)
			wantEq(t, "snapshot", ch.Source.Snapshot, "last")
		}},
		{"postgres/delete_then_tombstone_0_8", func(t *testing.T, ch Change) {
			wantOp(t, ch, OpDelete)
			wantVal(t, ch.Key, "id", "id1       ")
			wantVal(t, ch.Before, "id", "id1       ")
			wantVal(t, ch.Before, "code", nil)
			wantNil(t, "after", ch.After)
			wantEq(t, "snapshot", ch.Source.Snapshot, "")
			wantEq(t, "connector", ch.Source.Connector, "")
			wantPos(t, ch, Position{Hi: 3322629136})
		}},
		{"postgres/delete_then_tombstone_0_8.tombstone", func(t *testing.T, ch Change) {
			wantEq(t, "kind", ch.Kind, KindTombstone)
			wantVal(t, ch.Key, "id", "id1       ")
			wantPos(t, ch, Position{})
		}},
		{"postgres/key_int_with_schema", func(t *testing.T, ch Change) {
			wantKey(t, ch, map[string]any{"id": int64(1002)})
		}},
		{"postgres/key_composite_with_schema", func(t *testing.T, ch Change) {
			wantKey(t, ch, map[string]any{"quarter_id": int64(1), "course_id": "course1", "student_id": int64(1)})
		}},
		{"postgres/key_uuid_and_timestamp_with_schema", func(t *testing.T, ch Change) {
			wantKey(t, ch, map[string]any{
				"id":         "339f3f2f-f29f-4f00-869e-476122310eff",
				"created_at": time.Date(2024, 4, 16, 1, 8, 19, 440000000, time.UTC),
			})
		}},
		{"postgres/key_logical_table_router_with_schema", func(t *testing.T, ch Change) {
			wantKey(t, ch, map[string]any{"id": int64(1001), "__dbz__physicalTableIdentifier": "dbserver1.inventory.customers"})
		}},
		{"postgres/transaction_begin", func(t *testing.T, ch Change) {
			wantTx(t, ch, "BEGIN", "35352:3962948040", nil, nil, 1704269323180)
		}},
		{"postgres/transaction_end", func(t *testing.T, ch Change) {
			wantTx(t, ch, "END", "35352:3962950064", ptr(int64(11)),
				[]DataCollection{{"public.orders_tx", 5}, {"public.person", 6}}, 1704269323180)
		}},
		{"postgres/transaction_end_with_schema", func(t *testing.T, ch Change) {
			wantTx(t, ch, "END", "12117:67299632", ptr(int64(1)), []DataCollection{{"public.mine", 1}}, 1680821545908)
		}},
		{"postgres/transaction_begin_doc", func(t *testing.T, ch Change) {
			wantTx(t, ch, "BEGIN", "571:53195829", nil, nil, 1486500577125)
		}},
		{"postgres/transaction_end_doc", func(t *testing.T, ch Change) {
			wantTx(t, ch, "END", "571:53195832", ptr(int64(2)), []DataCollection{{"s1.a", 1}, {"s2.a", 1}}, 1486500577691)
		}},
		{"postgres/truncate_doc_payload_only", func(t *testing.T, ch Change) {
			wantOp(t, ch, OpTruncate)
			wantNil(t, "before", ch.Before)
			wantNil(t, "after", ch.After)
			wantNil(t, "key", ch.Key)
			wantEq(t, "table", ch.Source.Table, "customers")
			wantEq(t, "schema", ch.Source.Schema, "public")
			wantInt(t, "txId", ch.Source.TxID, 556)
			wantInt(t, "lsn", ch.Source.LSN, 46523128)
			wantEq(t, "snapshot", ch.Source.Snapshot, "")
		}},
		{"mongodb/snapshot_read_with_schema_true", func(t *testing.T, ch Change) {
			wantOp(t, ch, OpRead)
			wantEq(t, "snapshot", ch.Source.Snapshot, "true")
			wantInt(t, "ord", ch.Source.Ord, 1)
			wantVal(t, ch.After, "_id", int64(1001))
			wantVal(t, ch.After, "first_name", "Sally")
			wantVal(t, ch.After, "email", "sally.thomas@acme.com")
			wantNil(t, "patch", ch.Patch)
			wantPos(t, ch, Position{Hi: 1681879044, Lo: 1})
		}},
		{"mongodb/snapshot_read_with_schema_last", func(t *testing.T, ch Change) {
			wantEq(t, "snapshot", ch.Source.Snapshot, "last")
			wantVal(t, ch.After, "_id", int64(1004))
			wantVal(t, ch.After, "last_name", "Kretchmar")
		}},
		{"mongodb/create_schemaless_2_7", func(t *testing.T, ch Change) {
			wantOp(t, ch, OpCreate)
			wantVal(t, ch.After, "_id", "6811137d0c9f202a34d861e0")
			wantVal(t, ch.After, "id", "64429e987a8b646915b3735f")
			wantVal(t, ch.After, "totalItems", int64(4))
			wantVal(t, ch.After, "totalAmount", 25.4)
			wantVal(t, ch.After, "createdAt", "2025-04-29T14:32:56.335943085")
			wantJSON(t, ch.After["products"], `[{"product":{"code":"COMIC_BOOKS","unitValue":15.5},"quantity":3},{"product":{"code":"BOOKS","unitValue":9.9},"quantity":1}]`)
			wantEq(t, "collection", ch.Source.Collection, "orders")
			wantEq(t, "db", ch.Source.DB, "ordersdb")
			wantPos(t, ch, Position{Hi: 1745949565, Lo: 2})
		}},
		{"mongodb/update_full_document_schemaless_2_7", func(t *testing.T, ch Change) {
			wantOp(t, ch, OpUpdate)
			wantVal(t, ch.After, "_id", "68122a1c92da88b53346576c")
			wantVal(t, ch.After, "totalItems", int64(0))
			wantVal(t, ch.After, "updatedAt", time.Date(2025, 4, 30, 17, 33, 30, 610000000, time.UTC))
			wantNil(t, "patch", ch.Patch)
		}},
		{"mongodb/update_full_document_with_schema_2_7", func(t *testing.T, ch Change) {
			wantOp(t, ch, OpUpdate)
			wantKeyless(t, ch)
			wantVal(t, ch.After, "_id", "67f4675b8126ee23e2e79ec1")
			wantVal(t, ch.After, "name", "23rwe\n")
			wantEq(t, "db", ch.Source.DB, "public")
			wantEq(t, "collection", ch.Source.Collection, "books")
			wantNil(t, "before", ch.Before)
		}},
		{"mongodb/delete_schemaless_2_7", func(t *testing.T, ch Change) {
			wantOp(t, ch, OpDelete)
			wantNil(t, "before", ch.Before)
			wantNil(t, "after", ch.After)
			wantPos(t, ch, Position{Hi: 1745953508, Lo: 1})
		}},
		{"mongodb/key_objectid_with_schema", func(t *testing.T, ch Change) {
			wantKey(t, ch, map[string]any{"_id": "63e3a3bf314a4076d249e203"})
		}},
		{"mongodb/key_string_converter_2_7", func(t *testing.T, ch Change) {
			wantKey(t, ch, map[string]any{"_id": "68121c1692da88b533465769"})
		}},
		{"unwrapped/postgres_snapshot_add_fields_with_schema", func(t *testing.T, ch Change) {
			wantOp(t, ch, OpRead)
			wantVal(t, ch.After, "id", int64(10003))
			wantVal(t, ch.After, "order_date", Date{2016, time.February, 19})
			wantVal(t, ch.After, "purchaser", int64(1002))
			for _, meta := range []string{"__op", "__table", "__lsn", "__source_ts_ms", "__deleted"} {
				if _, ok := ch.After[meta]; ok {
					t.Errorf("metadata %s left in after", meta)
				}
			}
			wantEq(t, "table", ch.Source.Table, "orders")
			wantInt(t, "lsn", ch.Source.LSN, 33832960)
			wantInt(t, "ts_ms", ch.Source.TsMs, 1596309876678)
			// A snapshot read (op r without __snapshot), positioned as the
			// envelope's read is: a change streamed next replaces it.
			wantPos(t, ch, Position{Hi: 33832960, Lo: SnapshotLo})
		}},
		{"unwrapped/postgres_delete_rewrite_doc_fragment", func(t *testing.T, ch Change) {
			wantOp(t, ch, OpDelete)
			wantNil(t, "after", ch.After)
			wantKeyless(t, ch)
			if len(ch.Before) != 2 {
				t.Errorf("before = %v, want {pk, cola}", ch.Before)
			}
			wantVal(t, ch.Before, "pk", int64(2))
			wantVal(t, ch.Before, "cola", nil)
		}},
		{"unwrapped/mongodb_flatten_struct_doc", func(t *testing.T, ch Change) {
			wantOp(t, ch, OpUpdate)
			wantVal(t, ch.After, "a_b", int64(1))
			wantVal(t, ch.After, "a_c", "none")
			wantVal(t, ch.After, "d", int64(100))
		}},
		{"unwrapped/mongodb_flatten_struct_doc.source_document", func(t *testing.T, ch Change) {
			wantJSON(t, ch.After["a"], `{"b":1,"c":"none"}`)
		}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			s, ok := samples[tt.name]
			if !ok {
				t.Fatalf("sample %s not found", tt.name)
			}
			ch, err := decodeSample(t, s)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if s.hasValue && len(s.value) > 0 && ch.Kind == KindTombstone {
				t.Fatalf("a value decoded as a tombstone")
			}
			tt.check(t, ch)
		})
	}
	for name := range samples {
		if !seen[name] {
			t.Errorf("sample %s has no facts test", name)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func wantEq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func wantOp(t *testing.T, ch Change, op Op) {
	t.Helper()
	wantEq(t, "kind", ch.Kind, KindChange)
	wantEq(t, "op", ch.Op, op)
}

func wantNil(t *testing.T, what string, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		if v != nil {
			t.Errorf("%s = %v, want nil", what, v)
		}
	case *Patch:
		if v != nil {
			t.Errorf("%s = %+v, want nil", what, *v)
		}
	default:
		if v != nil {
			t.Errorf("%s = %v, want nil", what, v)
		}
	}
}

func wantKeyless(t *testing.T, ch Change) {
	t.Helper()
	if ch.Key != nil {
		t.Errorf("key = %v, want nil", ch.Key)
	}
}

func wantInt(t *testing.T, what string, got *int64, want int64) {
	t.Helper()
	if got == nil || *got != want {
		t.Errorf("%s = %v, want %d", what, got, want)
	}
}

func wantPos(t *testing.T, ch Change, want Position) {
	t.Helper()
	if ch.Position != want {
		t.Errorf("position = %v, want %v", ch.Position, want)
	}
}

// wantVal compares one column; maps and slices are compared as JSON.
func wantVal(t *testing.T, row map[string]any, col string, want any) {
	t.Helper()
	got, ok := row[col]
	if !ok && want != nil {
		t.Errorf("%s missing from %v", col, row)
		return
	}
	switch w := want.(type) {
	case time.Time:
		g, ok := got.(time.Time)
		if !ok || !g.Equal(w) || g.Location() != time.UTC {
			t.Errorf("%s = %#v, want %v UTC", col, got, w)
		}
	case []byte:
		g, ok := got.([]byte)
		if !ok || !bytes.Equal(g, w) {
			t.Errorf("%s = %#v, want %x", col, got, w)
		}
	default:
		if got != want {
			t.Errorf("%s = %#v (%T), want %#v (%T)", col, got, got, want, want)
		}
	}
}

func wantDecimal(t *testing.T, row map[string]any, col, want string) {
	t.Helper()
	d, ok := row[col].(decimal.Decimal)
	if !ok {
		t.Errorf("%s = %#v, want decimal %s", col, row[col], want)
		return
	}
	if d.String() != want {
		t.Errorf("%s = %s, want %s", col, d, want)
	}
	wantJSON(t, d, `"`+want+`"`)
}

func wantJSON(t *testing.T, v any, want string) {
	t.Helper()
	got, err := json.Marshal(v)
	if err != nil {
		t.Errorf("marshal %#v: %v", v, err)
		return
	}
	if string(got) != want {
		t.Errorf("JSON = %s, want %s", got, want)
	}
}

func wantKey(t *testing.T, ch Change, want map[string]any) {
	t.Helper()
	if len(ch.Key) != len(want) {
		t.Errorf("key = %v, want %v", ch.Key, want)
	}
	for k, v := range want {
		wantVal(t, ch.Key, k, v)
	}
}

func wantTx(t *testing.T, ch Change, status, id string, count *int64, dc []DataCollection, ts int64) {
	t.Helper()
	wantEq(t, "kind", ch.Kind, KindTransaction)
	tx := ch.Transaction
	if tx == nil {
		t.Fatal("no transaction")
	}
	wantEq(t, "status", tx.Status, status)
	wantEq(t, "id", tx.ID, id)
	if (count == nil) != (tx.EventCount == nil) || count != nil && *count != *tx.EventCount {
		t.Errorf("event_count = %v, want %v", tx.EventCount, count)
	}
	if len(dc) != len(tx.DataCollections) {
		t.Errorf("data_collections = %v, want %v", tx.DataCollections, dc)
	}
	for i := range dc {
		if i < len(tx.DataCollections) && tx.DataCollections[i] != dc[i] {
			t.Errorf("data_collections[%d] = %v, want %v", i, tx.DataCollections[i], dc[i])
		}
	}
	wantInt(t, "ts_ms", tx.TsMs, ts)
}
