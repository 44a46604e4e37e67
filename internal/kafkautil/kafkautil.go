// Package kafkautil builds projector's Kafka clients (ClientOpts: brokers,
// TLS, SASL), explains why they cannot connect, and has small helpers
// shared by the demo and tests.
package kafkautil

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// CaughtUp reports whether group has committed the end offset of every
// partition of topics.
func CaughtUp(ctx context.Context, adm *kadm.Client, group string, topics ...string) (bool, error) {
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return false, err
	}
	committed, err := adm.FetchOffsetsForTopics(ctx, group, topics...)
	if err != nil {
		return false, err
	}
	done := true
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil || o.Offset == 0 {
			return
		}
		c, ok := committed.Lookup(o.Topic, o.Partition)
		if !ok || c.At < o.Offset {
			done = false
		}
	})
	return done, nil
}

// WaitCaughtUp polls CaughtUp until it holds or timeout passes.
func WaitCaughtUp(ctx context.Context, adm *kadm.Client, group string, timeout time.Duration, topics ...string) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := CaughtUp(ctx, adm, group, topics...)
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("group %s did not catch up within %s (last error: %v)", group, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
