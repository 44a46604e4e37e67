package projector

import (
	"errors"
	"time"
)

// defaultShutdownTimeout bounds a graceful stop unless ConsumerOptions
// say otherwise: under Kubernetes' default grace period (30s), after which
// it kills the pod.
const defaultShutdownTimeout = 20 * time.Second

// errShutdownTimeout ends the batches still in flight ShutdownTimeout after
// a graceful stop began.
var errShutdownTimeout = errors.New("graceful stop timed out")

// abandoned reports whether err is only the batches in flight given up
// on at the shutdown timeout (no batch failed of itself).
func abandoned(err error) bool {
	if multi, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range multi.Unwrap() {
			if e != nil && !abandoned(e) {
				return false
			}
		}
		return true
	}
	return errors.Is(err, errShutdownTimeout)
}
