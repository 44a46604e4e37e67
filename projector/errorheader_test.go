package projector

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestErrorHeaderBounded: the projector.error header of a dead letter is
// cut to maxErrorHeader bytes at a character's start, so that a dead
// letter whose value was left out for its size is not too large by its
// reason; a short reason is kept whole.
func TestErrorHeaderBounded(t *testing.T) {
	long := errors.New(strings.Repeat("é", maxErrorHeader))
	h := errorHeader(long)
	if len(h) > maxErrorHeader+len("…") || !utf8.Valid(h) || !strings.HasSuffix(string(h), "…") {
		t.Errorf("header of a %d-byte reason: %d bytes, valid UTF-8 %v", len(long.Error()), len(h), utf8.Valid(h))
	}
	if got := string(errorHeader(errors.New("short"))); got != "short" {
		t.Errorf("short reason = %q", got)
	}
}
