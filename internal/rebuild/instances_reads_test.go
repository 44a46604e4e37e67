package rebuild

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestRebuildRefusesWhileAnInstanceDecodesReadColumnsAsOtherTypes: qty,
// read by the view only in an expression, is retyped: the documents the
// view computes are the same fingerprint, but an instance still on the
// earlier file decodes qty by its old type, writing documents and state
// rows by it into the generation being built. Its heartbeat says the
// types it reads by: the rebuild refuses, naming the instance and the
// column. An instance of an earlier version, which does not say them, is
// not checked.
func TestRebuildRefusesWhileAnInstanceDecodesReadColumnsAsOtherTypes(t *testing.T) {
	ctx := context.Background()
	const fields = "fields: { id: id, name: name, qty: qty }"
	const label = `fields: { id: id, name: name, label: { expr: "string(qty)", type: text } }`
	f := newFixture(t)
	f.edit(itemsYAML, fields, label)
	old := fingerprints(f.openEnv()) // what an instance on this file sends
	f.edit(itemsYAML, fields, label, "qty: bigint", `qty: "numeric(10,2)"`)
	d := f.startDaemon()
	f.seed(d, 1, 5)
	d.stop()

	env := f.openEnv()
	if err := env.Registry.Heartbeat(ctx, "on-the-bigint-file", "old-host", 4242, 1<<40, nil, old); err != nil {
		t.Fatal(err)
	}
	_, err := Run(ctx, env, Options{View: "item_view", Keep: 0})
	if !errors.Is(err, ErrOtherDefinition) || !strings.Contains(err.Error(), "on-the-bigint-file") ||
		!strings.Contains(err.Error(), "items.qty bigint, here numeric(10,2)") {
		t.Fatalf("rebuild while an instance decodes qty as bigint: %v, want ErrOtherDefinition naming the instance and the column", err)
	}

	delete(old, "item_view"+readsKey) // an instance of an earlier version
	if err := env.Registry.Heartbeat(ctx, "on-the-bigint-file", "old-host", 4242, 1<<40, nil, old); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, env, Options{View: "item_view", Keep: 0}); err != nil {
		t.Fatalf("rebuild while an instance that does not say its types runs: %v", err)
	}
}
