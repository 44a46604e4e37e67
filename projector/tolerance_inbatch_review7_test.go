package projector

import (
	"strings"
	"testing"
	"time"
)

// TestReview7ToleranceNoneWritesRecordsAfterTheBadOne
//
// Scenario: errors.tolerance none; one poll brings, in one batch (well
// under kafka.batch_bytes), a record that cannot be decoded (offset 0)
// followed by a good create of widget w1 (offset 1).
//
// Expected (README "What it decodes", errors.tolerance none): "a dead
// letter ... stops the consumer instead, without committing the record.
// Batches are then not pipelined: each is written before the next is
// applied, so no store reflects a record after the one it stopped on".
//
// Actual: the decode dead letter is known before the batch is applied, yet
// the whole batch (w1 included) is applied to the state and
// Engine.CompleteUnless (batch.go:97) writes every doc of it to the sinks
// before the stop callback (toleranceNone) is consulted (batch.go:115): w1,
// a record after the one the consumer stopped on, is in the store.
func TestReview7ToleranceNoneWritesRecordsAfterTheBadOne(t *testing.T) {
	bad := bigWidget(t, "w0", 0, 10)
	bad.Value = []byte("not json")
	r := newBytesRig(t, "none", bad, bigWidget(t, "w1", 1, 10))
	_, done := r.run(t, bytesLimit)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "@0") || !strings.Contains(err.Error(), "tolerance") {
			t.Fatalf("the consumer stopped with %v; want the bad record's position and the policy", err)
		}
		done <- nil // for the cleanup
	case <-time.After(time.Minute):
		t.Fatal("the consumer did not stop on the bad record")
	}
	if got := r.committed(t); got > 0 {
		t.Errorf("committed offset %d: the bad record at 0 must not be committed", got)
	}
	r.sink.mu.Lock()
	defer r.sink.mu.Unlock()
	if _, ok := r.sink.titles["w1"]; ok {
		t.Errorf("w1 (offset 1, after the bad record at 0 the consumer stopped on) was written to the store: a store reflects a record after the one errors.tolerance none stopped on")
	}
}
