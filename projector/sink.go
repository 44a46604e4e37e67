package projector

import (
	"context"

	"github.com/projectorhq/projector/sinks"
)

// Sink is a read store as the engine uses it. Write applies a batch of docs,
// each guarded by its Rev: a doc whose stored rev is not lower is left alone
// and counts as done. It returns nil, a *sinks.BatchError naming the failed
// docs, or an error for the whole batch; the engine retries what failed with
// backoff and never skips it.
type Sink interface {
	Name() string
	Write(ctx context.Context, docs []sinks.Doc) error
}

// Route is a sink and the views it stores.
type Route struct {
	Sink  Sink
	Views []string
}
