package config

import (
	"strings"
	"testing"
)

// A tab indenting line 8 is reported at line 7 (yaml.v3 reports the line
// where the scalar before it started), and the message does not say that
// YAML indents with spaces only.
func TestR30gTabIsReportedAtItsLine(t *testing.T) {
	const doc = "version: 1\n" +
		"kafka: { brokers: localhost:9092 }\n" +
		"stores:\n" +
		"  postgres: { url: \"postgres://x@y/z\" }\n" +
		"sources:\n" +
		"  posts:\n" +
		"    topic: blog.public.posts\n" +
		"\tkey: id\n" + // line 8
		"    columns: { id: bigint }\n" +
		"views:\n" +
		"  v: { from: posts, fields: { id: id }, sinks: { postgres: {} } }\n"
	_, err := Parse("t.yaml", []byte(doc), lookupTestEnv)
	if err == nil {
		t.Fatal("a tab indent is accepted")
	}
	if !strings.Contains(err.Error(), "t.yaml:8:1:") {
		t.Errorf("want the tab at t.yaml:8:1, got:\n%v", err)
	}
	if !strings.Contains(strings.ToLower(err.Error()), "space") {
		t.Errorf("the message should say to indent with spaces:\n%v", err)
	}
}

// A tab indenting a mapping entry gives yaml.v3's "found character that
// cannot start any token": the right line, but nothing says it is a tab.
func TestR30gTabInMappingSaysTab(t *testing.T) {
	const doc = "version: 1\n" +
		"kafka: { brokers: localhost:9092 }\n" +
		"stores:\n" +
		"  postgres: { url: \"postgres://x@y/z\" }\n" +
		"sources:\n" +
		"  posts: { topic: blog.public.posts, key: id, columns: { id: bigint } }\n" +
		"views:\n" +
		"  v:\n" +
		"    from: posts\n" +
		"    fields:\n" +
		"\tid: id\n" + // line 11
		"    sinks: { postgres: {} }\n"
	_, err := Parse("t.yaml", []byte(doc), lookupTestEnv)
	if err == nil {
		t.Fatal("a tab indent is accepted")
	}
	if !strings.Contains(err.Error(), "t.yaml:11:1:") || !strings.Contains(strings.ToLower(err.Error()), "tab") {
		t.Errorf("want a message about the tab at t.yaml:11:1, got:\n%v", err)
	}
}
