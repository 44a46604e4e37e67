package config

import (
	"errors"
	"strings"
	"testing"
)

// TestR32jDefaultSignalTopicOfALongTopic: a source's signal topic
// defaults to <connector>-signal, the connector to its topic up to the
// first '.'. A valid topic of 247 characters whose prefix is 245 gives a
// default signal topic of 252, over Kafka's 249: the file, which writes
// no signal: at all (only rebuild --from signal would use one), is
// refused with an error at 1:1 — a struct never written has no Pos —
// that quotes the derived name, here the value of ${TOPIC} from the
// environment, which config/doc.go promises is never shown. As the
// default dead-letter topic's problem is reported at kafka.group, this
// one belongs at the source's topic, without its value (or nowhere, the
// signal being optional).
func TestR32jDefaultSignalTopicOfALongTopic(t *testing.T) {
	prefix := strings.Repeat("p", 245)
	env := func(name string) (string, bool) {
		if name == "TOPIC" {
			return prefix + ".orders", true
		}
		return "", false
	}
	const file = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://localhost/shop" } }
sources:
  orders: { topic: "${TOPIC}", key: id }
views:
  order_view: { from: orders, fields: { id: id }, sinks: { postgres: {} } }
`
	_, err := Parse("p.yaml", []byte(file), env)
	if err == nil {
		return // the optional signal's default is not held against the file
	}
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse: %v", err)
	}
	for _, e := range errs {
		if e.Pos.Line == 1 && e.Pos.Col == 1 {
			t.Errorf("error at 1:1, where nothing is wrong (the topic is at 5:20): %v", e)
		}
		if strings.Contains(e.Msg, prefix) {
			t.Errorf("error shows the value of ${TOPIC}, from the environment: %.120s…", e.Msg)
		}
	}
}
