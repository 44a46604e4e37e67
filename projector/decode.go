package projector

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projections"
)

// Decoded is a batch of records decoded into state changes, to be applied
// by Project. Dead are its records that could not be decoded.
type Decoded struct {
	Dead      []DeadLetter
	start     time.Time
	perSource map[*projections.Source][]rowChange
	marks     marks
}

// Decode is the first half of Prepare: it decodes recs into state changes.
// It does no I/O but for fetching Avro schemas it has not seen, so it may
// run while another batch is projected or written. It fails only when the
// schema registry cannot be reached: a bad record is a dead letter.
func (e *Engine) Decode(ctx context.Context, recs []Record) (*Decoded, error) {
	start := time.Now()
	var ig ignored
	perSource, dead, m, err := e.decodeCounting(ctx, recs, &ig)
	if err != nil {
		return nil, err
	}
	e.countIgnored(ig) // once: a decode that failed is done again
	return &Decoded{Dead: dead, start: start, perSource: perSource, marks: m}, nil
}

// decode turns records into state changes per source, in record order.
func (e *Engine) decode(ctx context.Context, recs []Record) (map[*projections.Source][]rowChange, []DeadLetter, marks, error) {
	return e.decodeCounting(ctx, recs, nil)
}

// decodeCounting is decode counting the records that change no row in ig
// (unless nil).
func (e *Engine) decodeCounting(ctx context.Context, recs []Record, ig *ignored) (map[*projections.Source][]rowChange, []DeadLetter, marks, error) {
	out := map[*projections.Source][]rowChange{}
	m := marks{}
	var dead []DeadLetter
	for _, r := range recs {
		sd := e.decoders[r.Topic]
		if sd == nil {
			continue
		}
		if r.Control {
			m.see(sd.src.Name, r.Topic, r.Partition, r.Offset, debezium.Position{})
			ig.add(sd.src.Name, "transaction_marker")
			continue
		}
		ch, err := e.decodeRecord(ctx, sd.dec, r)
		var unreachable *registryError
		if errors.As(err, &unreachable) {
			return nil, nil, nil, err // the registry is down: retry the batch, lose nothing
		}
		m.see(sd.src.Name, r.Topic, r.Partition, r.Offset, ch.Position)
		if err != nil {
			dead = append(dead, DeadLetter{Record: r, Err: err})
			continue
		}
		rc, ok, err := toRowChange(sd.src, ch)
		if err != nil {
			dead = append(dead, DeadLetter{Record: r, Err: err})
			continue
		}
		if !ok {
			ig.add(sd.src.Name, ch.Kind.String())
			continue
		}
		if rc.Patch {
			rc.rec = &r
		}
		out[sd.src] = append(out[sd.src], rc)
	}
	return out, dead, m, nil
}

// registryError is a schema registry that did not answer: retried, unlike
// a record that is bad in itself.
type registryError struct{ err error }

func (e *registryError) Error() string { return "schema registry: " + e.err.Error() }
func (e *registryError) Unwrap() error { return e.err }

// decodeRecord decodes one record, fetching Avro schemas it has not seen
// from the registry (see DecodeRecord).
func (e *Engine) decodeRecord(ctx context.Context, dec *debezium.Decoder, r Record) (debezium.Change, error) {
	return DecodeRecord(ctx, dec, e.schemas, r)
}

// DecodeRecord decodes one record with dec, fetching the Avro schemas dec
// has not seen from schemas (a record may need two: its key's and its
// value's; nil when no registry is configured). A schema the registry does
// not hold makes the record bad (ErrBadRecord); a registry that does not
// answer is an error of its own, to be retried.
func DecodeRecord(ctx context.Context, dec *debezium.Decoder, schemas SchemaRegistry, r Record) (debezium.Change, error) {
	for attempt := 0; ; attempt++ {
		ch, err := dec.Decode(r.Key, r.Value)
		if err == nil && ch.Kind == debezium.KindTombstone && len(r.Headers) > 0 {
			ch, err = dec.DecodeRecord(r.Key, r.Value, r.Headers)
		}
		var unknown *debezium.UnknownSchemaError
		if !errors.As(err, &unknown) || attempt == 2 {
			return ch, err
		}
		if schemas == nil {
			return ch, fmt.Errorf("%w (no kafka.schema_registry is configured)", err)
		}
		text, ferr := schemas.SchemaByID(ctx, unknown.ID)
		if errors.Is(ferr, ErrSchemaNotFound) {
			return ch, fmt.Errorf("%w: %w", ErrBadRecord, ferr) // a bad record: dead-letter it
		}
		if ferr != nil {
			return ch, &registryError{fmt.Errorf("schema %d: %w", unknown.ID, ferr)}
		}
		if aerr := dec.AddAvroSchema(unknown.ID, text); aerr != nil {
			return ch, fmt.Errorf("schema %d: %w", unknown.ID, aerr)
		}
	}
}

// maxIndexedText bounds the keys and join values of a row: PostgreSQL's
// btree refuses an entry over about 2.7 kB (after compression), and a row
// it refuses would fail its whole batch on every retry. Such a record goes
// to the dead-letter topic instead.
const maxIndexedText = 2048

// toRowChange maps a decoded change to a state change; ok is false for
// records that change no row (tombstones, transaction markers, heartbeats).
func toRowChange(src *projections.Source, ch debezium.Change) (rowChange, bool, error) {
	if ch.Kind != debezium.KindChange {
		// A Kafka tombstone without the headers that position it (see
		// debezium.Decoder.DecodeRecord) is a compaction marker: the delete
		// before it did the work, and applying it could delete a row
		// created again since.
		return rowChange{}, false, nil
	}
	if ch.Op == debezium.OpTruncate {
		if ch.Position == (debezium.Position{}) {
			// Without a position the truncate cannot be ordered against
			// the rows: it could delete rows written after it.
			return rowChange{}, false, fmt.Errorf("%w: truncate of %s carries no source position", ErrBadRecord, src.Name)
		}
		return rowChange{Truncate: true, PosHi: ch.Position.Hi, PosLo: ch.Position.Lo}, true, nil
	}
	row := ch.After
	deleted := ch.Op == debezium.OpDelete
	if deleted {
		row = ch.Before
	}
	keyCols := src.Key
	if len(keyCols) == 0 {
		for k := range ch.Key {
			keyCols = append(keyCols, k)
		}
		sort.Strings(keyCols)
	}
	if len(keyCols) == 0 {
		// Debezium gives the rows of a table without a primary key a null
		// record key: with no key: declared, nothing names the row, and
		// every such record would be one row of the state.
		return rowChange{}, false, fmt.Errorf("%w: this %s record has no key (a table without a primary key?), and the source declares no key: columns: declare the columns that name a row",
			ErrBadRecord, src.Name)
	}
	vals := make([]any, len(keyCols))
	for i, k := range keyCols {
		v, ok := ch.Key[k]
		if !ok || v == nil {
			v = row[k]
		}
		if id, only := ch.Key["id"]; v == nil && k == "_id" && only && len(ch.Key) == 1 {
			// A MongoDB delete rewritten by ExtractNewDocumentState without
			// a pre-image: nothing but the key, {"id": <hex>}, names it.
			v = id
		}
		if v == nil {
			return rowChange{}, false, fmt.Errorf("%w: no value for key column %q of source %s", ErrBadRecord, k, src.Name)
		}
		vals[i] = v
	}
	key, _ := docID(vals)
	if len(key) > maxIndexedText {
		return rowChange{}, false, fmt.Errorf("%w: the key of this %s row is %d bytes long; projector indexes keys of at most %d bytes",
			ErrBadRecord, src.Name, len(key), maxIndexedText)
	}
	if !deleted {
		// A delete leaves the key alone in the state, which indexes no
		// other value of a deleted row: its old values need no bound.
		if err := checkIndexed(src, indexedValues(row, ch.Patch), true); err != nil {
			return rowChange{}, false, err
		}
	}
	data := map[string]any{}
	if deleted {
		// A tombstone keeps only the key: the row's other values are gone
		// (and with REPLICA IDENTITY DEFAULT they were never sent).
		for i, k := range keyCols {
			data[k] = vals[i]
		}
	} else {
		if len(src.Kept) == 0 {
			for k, v := range row {
				data[k] = v
			}
		} else {
			for _, k := range src.Kept {
				if v, ok := row[k]; ok {
					data[k] = v
				}
			}
		}
		for i, k := range keyCols {
			if _, ok := data[k]; !ok {
				data[k] = vals[i]
			}
		}
	}
	if ch.Patch != nil && ch.After == nil && !deleted {
		// A partial update: the stored row is patched (the key columns
		// seed a row the state has not seen yet).
		set, unset, truncate := slimPatch(src, ch.Patch)
		return rowChange{
			Key: key, Data: debezium.Exact(data).(map[string]any), PosHi: ch.Position.Hi, PosLo: ch.Position.Lo,
			Patch: true, PatchSet: set, PatchUnset: unset, PatchTruncate: truncate,
		}, true, nil
	}
	var unchanged []string
	if !deleted {
		unchanged = keptUnchanged(src, ch.Unchanged)
	}
	return rowChange{
		Key: key, Data: debezium.Exact(data).(map[string]any), PosHi: ch.Position.Hi, PosLo: ch.Position.Lo,
		Deleted: deleted, Merge: len(unchanged) > 0, Unchanged: unchanged,
	}, true, nil
}
