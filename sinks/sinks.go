// Package sinks holds what every read store shares: the document a sink
// writes and the partial-failure error it reports. Each store is a package
// below this one (sinks/postgres, sinks/redis, sinks/elasticsearch); the
// engine (package projector) declares the interface it needs from them.
package sinks

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrRefused marks a doc's error in a BatchError when the store refuses
// the doc as it is: a value out of a column's range, a field the index
// mapping cannot take, a key the template cannot resolve. Writing it again
// unchanged cannot succeed, so the engine sets it aside (to the dead-letter
// topic) instead of retrying it forever; the store keeps the doc's previous
// version until a later change gives one it takes. Errors without it are
// retried: an outage, a full disk, a key an operator must fix.
var ErrRefused = errors.New("refused by the store")

// Refused wraps a doc's error as a refusal.
func Refused(err error) error { return fmt.Errorf("%w: %w", ErrRefused, err) }

// ErrConflict marks a refusal for another document the store holds (a
// unique value it has not given up yet): the doc may be taken once a later
// change moves the other one, so the engine writes it again after later
// batches (see projector.Refusal).
var ErrConflict = errors.New("conflicts with another document")

// Doc is one recomputed view document, ready for the sinks.
//
// Fields and Key values are JSON-natural (nil, bool, json.Number, string,
// []any, map[string]any): they marshal with encoding/json to what readers see.
type Doc struct {
	View    string
	ID      string         // canonical id: unique within the view
	Key     map[string]any // id field → value; set for deletes too
	Rev     int64          // grows with every write of this doc; a sink keeps the highest
	Fields  map[string]any // nil when Deleted
	Deleted bool           // the doc no longer exists
}

// BatchError reports the docs of a batch a sink did not store. A sink's
// Write returns nil when every doc is stored (or was already stored at a
// newer rev), a *BatchError naming exactly the failed docs, or another error
// when the whole batch failed.
type BatchError struct {
	Failed map[int]error // index in the batch → why
}

func (e *BatchError) Error() string {
	idx := make([]int, 0, len(e.Failed))
	for i := range e.Failed {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	var b strings.Builder
	fmt.Fprintf(&b, "%d docs of the batch failed", len(idx))
	for n, i := range idx {
		if n == 3 {
			b.WriteString("; …")
			break
		}
		fmt.Fprintf(&b, "; #%d: %v", i, e.Failed[i])
	}
	return b.String()
}
