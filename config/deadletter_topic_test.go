package config

import (
	"strings"
	"testing"
)

// TestDefaultDeadLetterTopicIsASourceTopic: the default dead-letter topic
// (kafka.group + ".dlq") that a source reads is refused at kafka.group,
// which is what the user set.
func TestDefaultDeadLetterTopicIsASourceTopic(t *testing.T) {
	yaml := strings.Replace(kafkaYAML("  group: shop.public.orders"), "topic: shop.public.orders", "topic: shop.public.orders.dlq", 1)
	_, err := Parse("test.yaml", []byte(yaml), lookupTestEnv)
	if err == nil || !strings.Contains(err.Error(), "test.yaml:4:10") || !strings.Contains(err.Error(), `is the topic of source "orders"`) {
		t.Fatalf("errors:\n%v\nwant one at test.yaml:4:10 (kafka.group) naming source orders", err)
	}
}
