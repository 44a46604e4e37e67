package config

import (
	"strings"
	"testing"
)

// TestR29cDeadLetterTopicIsASourceTopic: kafka.dead_letter_topic naming a
// topic a source reads makes every dead letter a record the daemon
// consumes again: it fails to decode again (it is the same bytes), goes to
// the dead-letter topic again with one more set of projector.* headers,
// and so on for ever, growing the topic without bound. validate must
// refuse it at the key's file:line:col, as it refuses a topic name Kafka
// would not take.
func TestR29cDeadLetterTopicIsASourceTopic(t *testing.T) {
	_, err := Parse("test.yaml", []byte(kafkaYAML("  dead_letter_topic: shop.public.orders")), lookupTestEnv)
	if err == nil {
		t.Fatal("kafka.dead_letter_topic equal to the topic of source orders passes validation; want an error at test.yaml:4:22")
	}
	if !strings.Contains(err.Error(), "test.yaml:4:22") || !strings.Contains(err.Error(), "dead_letter_topic") {
		t.Errorf("errors:\n%v\nwant one at test.yaml:4:22 naming kafka.dead_letter_topic", err)
	}
}
