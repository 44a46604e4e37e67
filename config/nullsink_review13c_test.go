package config

import (
	"strings"
	"testing"
)

// A sink written with nothing under it (`postgres:` whose keys are all
// defaults, or commented out) decodes as null, and is dropped without a
// word when the view has another sink: the view is silently not written
// to PostgreSQL. The file asks for the sink (every key of postgres has a
// default: table = the view name, schema public); kafka.tls written the
// same way is honoured (writtenTLS: "Reading it as absent would speak
// plaintext to a broker the file says is reached over TLS"). Either the
// sink is kept with its defaults, or it is an error at its key.
func TestR13cNullSinkSilentlyDropped(t *testing.T) {
	doc := strings.Replace(r13cBase, "    sinks: { postgres: {} }\n",
		"    sinks:\n      redis: { key: \"o:{id}\" }\n      postgres:\n", 1)
	c, err := Parse("p.yaml", []byte(doc), func(string) (string, bool) { return "", false })
	if err != nil {
		return // reported: fine
	}
	v, _ := c.Views.Get("v")
	if v.Sinks.Postgres == nil {
		t.Errorf("`postgres:` written under sinks with nothing under it: no error, and the view has no postgres sink")
	}
}
