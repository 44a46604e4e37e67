package projector

import (
	"testing"

	"github.com/projectorhq/projector/debezium"
)

// changeEngine builds and migrates an engine with opts, and returns it with
// change, which applies rows (updates) of a source as one batch, each at
// the next position.
func changeEngine(t *testing.T, opts Options) (*Engine, func(source string, rows ...map[string]any)) {
	t.Helper()
	eng, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := eng.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	pos := int64(0)
	return eng, func(source string, rows ...map[string]any) {
		t.Helper()
		var chs []debezium.Change
		for _, r := range rows {
			pos++
			chs = append(chs, debezium.Change{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: pos}, After: r})
		}
		if err := eng.ProcessChanges(ctx, source, chs); err != nil {
			t.Fatal(err)
		}
	}
}
