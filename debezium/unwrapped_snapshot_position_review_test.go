package debezium

import "testing"

// TestReviewUnwrappedSnapshotReadPosition: ExtractNewRecordState with
// add.fields=op,table,lsn,source.ts_ms (event-flattening.adoc; the shared
// sample unwrapped/postgres_snapshot_add_fields_with_schema.value.json) marks
// a snapshot read only by "__op": "r"; no "__snapshot" field is added.
//
// The initial snapshot's reads all carry the snapshot's LSN L. A transaction
// open across the snapshot that wrote the row before L and committed after it
// is not in the snapshot and is streamed afterwards with an LSN below L
// (change.go's own Replaces comment describes this case). For the envelope the
// decoder marks such reads Lo=SnapshotLo so that the streamed change replaces
// them (envelope.go relationalPosition, change.go Replaces). For the same
// read after the SMT, unwrapped.go never looks at "__op": "r" when building
// the Position, so the read is {L, 0} and the later-committed update {lsn<L,
// 0} is judged older and dropped: the state keeps the pre-transaction row
// for good (DESIGN "Position"/"State": a change newer than the stored one
// must be applied).
func TestReviewUnwrappedSnapshotReadPosition(t *testing.T) {
	d := mustDecoder(t, Options{})
	read, err := d.Decode([]byte(`{"id":10003}`), []byte(`{"id":10003,"quantity":2,"__op":"r","__table":"orders","__lsn":33832960,"__source_ts_ms":1596309876678,"__deleted":"false"}`))
	if err != nil {
		t.Fatal(err)
	}
	upd, err := d.Decode([]byte(`{"id":10003}`), []byte(`{"id":10003,"quantity":5,"__op":"u","__table":"orders","__lsn":33832900,"__source_ts_ms":1596309877000,"__deleted":"false"}`))
	if err != nil {
		t.Fatal(err)
	}

	// The same two events as envelopes are ordered the way Debezium means.
	envRead, err := d.Decode(nil, []byte(`{"before":null,"after":{"id":10003,"quantity":2},"source":{"connector":"postgresql","snapshot":"true","lsn":33832960,"sequence":"[null,\"33832960\"]"},"op":"r"}`))
	if err != nil {
		t.Fatal(err)
	}
	envUpd, err := d.Decode(nil, []byte(`{"before":null,"after":{"id":10003,"quantity":5},"source":{"connector":"postgresql","snapshot":"false","lsn":33832900,"sequence":"[null,\"33832900\"]"},"op":"u"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !envUpd.Position.Replaces(envRead.Position) {
		t.Fatalf("precondition: envelope update %v does not replace envelope read %v", envUpd.Position, envRead.Position)
	}
	if !upd.Position.Replaces(read.Position) {
		t.Errorf("unwrapped streamed update at %v does not replace the unwrapped snapshot read at %v (envelope: %v replaces %v); the update is lost",
			upd.Position, read.Position, envUpd.Position, envRead.Position)
	}
}
