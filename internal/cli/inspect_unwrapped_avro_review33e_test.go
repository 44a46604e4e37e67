package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const r33eUnwrappedRow = `{"type":"record","name":"Value","namespace":"cqrs.public.widgets","connect.name":"cqrs.public.widgets.Value","fields":[
 {"name":"id","type":"string"},
 {"name":"name","type":["null","string"],"default":null},
 {"name":"__op","type":["null","string"],"default":null},
 {"name":"__lsn","type":["null","long"],"default":null}]}`

// TestR33eInspectUnwrappedAvroMalformedSaysWhy: the README (What it
// decodes) says a source's `format: unwrapped` "also reads Avro-framed
// values, as the SMT's output in Avro", and of inspect: "a malformed one
// exits 1 naming what is wrong and where (payload.after.price: …)".
//
// inspect.go's notJSON decides whether the decoder read the value as Avro
// with `format == FormatAvro || format == FormatAuto && value[0] == 0`,
// forgetting FormatUnwrapped, which debezium.Decoder.Decode also reads as
// Avro when the value starts with the magic byte. So a malformed Avro
// record under format unwrapped (here: the body cut short, as a truncated
// dump gives it) has its real error ("payload.name: ... Avro ...")
// replaced by "value is not JSON: invalid character '\x00' looking for
// beginning of value, at line 1, column 1": the user is told the record is
// not JSON, which it was never meant to be, and not what is wrong with it.
// The same record under --format auto reports the Avro problem. Fix:
// notJSON must treat FormatUnwrapped with a 0 magic byte as Avro too.
func TestR33eInspectUnwrappedAvroMalformedSaysWhy(t *testing.T) {
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		if r.URL.Path != "/schemas/ids/5" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error_code":40403,"message":"Schema not found"}`))
			return
		}
		b, _ := json.Marshal(map[string]string{"schema": r33eUnwrappedRow})
		_, _ = w.Write(b)
	}))
	defer reg.Close()

	whole := r28bFrame(t, 5, r33eUnwrappedRow, map[string]any{
		"id": "w1", "name": map[string]any{"string": "gadget"},
		"__op": map[string]any{"string": "c"}, "__lsn": map[string]any{"long": int64(100)},
	})
	cut := whole[:len(whole)-4] // the last field, and part of "name", missing
	dir := t.TempDir()
	wholeFile, cutFile := filepath.Join(dir, "whole.bin"), filepath.Join(dir, "cut.bin")
	if err := os.WriteFile(wholeFile, whole, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cutFile, cut, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROJECTOR_POSTGRES_URL", "postgres://localhost/x")
	file := writeConfig(t, `version: 1
kafka:
  brokers: "localhost:9092"
  group: g
  schema_registry: { url: "`+reg.URL+`" }
stores: { postgres: { url: "${PROJECTOR_POSTGRES_URL}" } }
sources:
  widgets:
    topic: cqrs.public.widgets
    format: unwrapped
    key: id
    columns: { id: text, name: text }
views:
  widget_view:
    from: widgets
    fields: { id: id, name: name }
    sinks: { postgres: {} }
`)
	// The rig works: the whole record prints under format unwrapped.
	if code, out, errs := run(t, "inspect", "-c", file, "--format", "unwrapped", "--value", wholeFile); code != ExitOK || !strings.Contains(out, "gadget") {
		t.Fatalf("whole record: exit %d: %s%s", code, out, errs)
	}
	// Under auto the cut record names the Avro problem.
	code, _, autoErr := run(t, "inspect", "-c", file, "--format", "auto", "--value", cutFile)
	if code != ExitFailure || strings.Contains(autoErr, "is not JSON") {
		t.Fatalf("auto: exit %d: %s", code, autoErr)
	}
	code, _, errs := run(t, "inspect", "-c", file, "--format", "unwrapped", "--value", cutFile)
	if code != ExitFailure {
		t.Fatalf("unwrapped, cut record: exit %d, want %d: %s", code, ExitFailure, errs)
	}
	if strings.Contains(errs, "is not JSON") || !strings.Contains(errs, "Avro") {
		t.Errorf("format unwrapped, a truncated Avro record: inspect says\n  %s\nwant what is wrong with the Avro record, as --format auto says:\n  %s", strings.TrimSpace(errs), strings.TrimSpace(autoErr))
	}
}
