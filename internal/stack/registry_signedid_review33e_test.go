package stack

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projector"
)

// TestR33eSchemaIDBeyondInt32IsABadRecordNotAnOutage: Confluent's wire
// format carries the schema id as a signed 4-byte Java int (the
// serializers write ByteBuffer.putInt(id); confluent-kafka-python#747
// "Schema Registry wire format uses int not uint for ids": the registry
// never assigns a negative id). The registry's GET /schemas/ids/{id} takes
// the id as `@PathParam("id") Integer id` (SchemasResource), so a path
// holding a number beyond 2^31-1 does not convert and JAX-RS answers
// 404 {"error_code":404,"message":"HTTP 404 Not Found"}: not the
// registry's 40403.
//
// debezium/avro.go's avroFrame reads the id as uint32, so a record whose
// framing says 0x80000000 or more (a corrupted record, or a non-Confluent
// binary value that happens to start with a zero byte under format auto or
// avro) makes projector ask for /schemas/ids/2147483648; registry.go reads
// any 404 without 40403 as "not a registry" and the engine retries the
// batch as an outage, for ever: one bad record stops the whole consumer
// (no commit, no later record). README, What it decodes: "an id the
// registry does not know (its error 40403) dead-letters the record, an
// unreachable registry pauses consumption"; this registry is reachable and
// answers every valid id. Such an id can never name a schema: the record
// is malformed and must be a dead letter, decided without asking (or, at
// least, not read as an outage).
func TestR33eSchemaIDBeyondInt32IsABadRecordNotAnOutage(t *testing.T) {
	const known = `{"type":"record","name":"Key","namespace":"s.public.t","fields":[{"name":"id","type":"long"}]}`
	var (
		mu    sync.Mutex
		asked []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		raw, ok := strings.CutPrefix(r.URL.Path, "/schemas/ids/")
		id, err := strconv.ParseInt(raw, 10, 32) // Java's Integer path parameter
		switch {
		case !ok || err != nil:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error_code":404,"message":"HTTP 404 Not Found"}`))
		case id == 1:
			_, _ = w.Write([]byte(`{"schema":` + strconv.Quote(known) + `}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error_code":40403,"message":"Schema not found"}`))
		}
	}))
	defer srv.Close()
	reg, err := NewSchemaRegistry(config.SchemaRegistry{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := debezium.NewDecoder(debezium.Options{Format: debezium.FormatAvro})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	framed := func(id uint32, body ...byte) []byte {
		b := make([]byte, 5, 5+len(body))
		binary.BigEndian.PutUint32(b[1:], id)
		return append(b, body...)
	}
	// The rig: a valid id decodes, an unknown one is a bad record.
	if ch, err := projector.DecodeRecord(ctx, dec, reg, projector.Record{Key: framed(1, 2)}); err != nil || ch.Kind != debezium.KindTombstone {
		t.Fatalf("id 1: %+v, %v", ch, err)
	}
	if _, err := projector.DecodeRecord(ctx, dec, reg, projector.Record{Value: framed(99, 0)}); !errors.Is(err, projector.ErrBadRecord) {
		t.Fatalf("id 99 (40403): %v, want a bad record", err)
	}
	for _, id := range []uint32{0x80000000, 0xFFFFFFFF} {
		_, err := projector.DecodeRecord(ctx, dec, reg, projector.Record{Value: framed(id, 0, 0, 0)})
		if !errors.Is(err, debezium.ErrMalformed) && !errors.Is(err, projector.ErrBadRecord) {
			mu.Lock()
			paths := append([]string(nil), asked...)
			mu.Unlock()
			t.Errorf("schema id bytes %08x: %v\n  (the registry was asked %v); want a bad record (dead letter), not an outage retried for ever", id, err, paths)
		}
	}
}
