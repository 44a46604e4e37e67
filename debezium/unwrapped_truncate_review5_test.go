package debezium

import (
	"testing"
)

// TestReview5UnwrappedRowNamedLikeTruncate: a source read as format
// unwrapped (ExtractNewRecordState with add.fields=op,lsn) of a table whose
// columns include op and source, e.g. ledger(id, op char(1), source text),
// with a row op = 't' (a transfer) and source NULL. The value is a row:
// it even carries the SMT's own __op and __lsn, which no envelope has.
// envelope.go's new isTruncate (decodeJSONValue, FormatUnwrapped) parses
// any payload whose members look like an envelope (op plus source, before
// or after: members.form) as one, and this one parses as a truncate with
// no position: the row vanishes, and projector dead-letters it as "truncate
// of ledger carries no source position" (and with errors.tolerance none
// stops). With a MongoDB document {op: "t", source: {lsn: N}} the same
// path truncates the whole collection at N. README: "a truncate the SMT
// forwards as an envelope is a truncate"; a row of the table is not one.
// Expected: the change is the row, with its columns op and source.
func TestReview5UnwrappedRowNamedLikeTruncate(t *testing.T) {
	d := mustDecoder(t, Options{Format: FormatUnwrapped,
		Columns: map[string]string{"id": "bigint", "op": "char(1)", "source": "text"}})
	for _, value := range []string{
		`{"id":1,"op":"t","source":null,"__op":"c","__lsn":500}`,
		`{"id":1,"op":"t","source":null}`,
	} {
		ch, err := d.Decode([]byte(`{"id":1}`), []byte(value))
		if err != nil {
			t.Fatal(err)
		}
		if ch.Op == OpTruncate || ch.After == nil || ch.After["op"] != "t" {
			t.Errorf("%s: decoded as op %q, after %v; want the row (not a truncate) with its column op = \"t\"", value, ch.Op, ch.After)
		}
	}
}
