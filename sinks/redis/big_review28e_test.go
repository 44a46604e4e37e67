package redis

import (
	"errors"
	"strings"
	"testing"

	"github.com/projectorhq/projector/sinks"
)

// TestR28eDocOverBulkLimitRefusedAlone: Redis refuses an argument longer
// than proto-max-bulk-len (512 MB by default, which an operator may lower
// down to 1 MB) with "ERR Protocol error: invalid bulk length" and drops the
// connection. README "Refused documents": a document a store refuses as it
// is cannot be written by retrying it, and retrying it forever would stop
// every change behind it: it is set aside (sinks.ErrRefused), and the other
// documents are written. Write instead reports every doc of the script
// call failed with a plain (retryable) error, the small doc beside it
// included: the engine retries both forever and the partition stalls.
// (Run against a private Redis with the limit lowered to 1 MB so the test
// stays small; the same happens to a 512 MB doc at the default.)
func TestR28eDocOverBulkLimitRefusedAlone(t *testing.T) {
	client := privateClient(t)
	s, err := New(client, []View{{Name: "j", Key: "j:{id}"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.ConfigSet(t.Context(), "proto-max-bulk-len", "1mb").Err(); err != nil {
		t.Fatal(err)
	}
	// projector run checks the server at start (and reads the limit then).
	if err := s.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 2<<20)
	err = s.Write(t.Context(), []sinks.Doc{
		doc("j", 1, 1, map[string]any{"a": "small"}),
		doc("j", 2, 1, map[string]any{"a": big}),
	})
	var be *sinks.BatchError
	switch {
	case err == nil:
		t.Fatal("Write of a doc over proto-max-bulk-len: nil error, want it refused")
	case !errors.As(err, &be):
		t.Errorf("Write: %v, want a *sinks.BatchError refusing the big doc alone", err)
	default:
		if be.Failed[0] != nil {
			t.Errorf("the small doc failed with the big one: %v", be.Failed[0])
		}
		if !errors.Is(be.Failed[1], sinks.ErrRefused) {
			t.Errorf("the big doc failed with %v, want sinks.ErrRefused (retrying cannot pass)", be.Failed[1])
		}
	}
	if got := client.Get(t.Context(), "j:1").Val(); got != `{"a":"small"}` {
		t.Errorf("small doc stored as %q, want it written", got)
	}
}
