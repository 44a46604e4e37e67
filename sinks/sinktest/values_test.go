package sinktest

import (
	"encoding/json"
	"testing"
)

func TestEqual(t *testing.T) {
	tests := []struct {
		name      string
		got, want map[string]any
		equal     bool
	}{
		{"same", map[string]any{"a": "x"}, map[string]any{"a": "x"}, true},
		{"null field left out", map[string]any{"a": "x"}, map[string]any{"a": "x", "b": nil}, true},
		{"null field stored", map[string]any{"a": "x", "b": nil}, map[string]any{"a": "x"}, true},
		{"decimal string read back as number", map[string]any{"a": json.Number("12.50")}, map[string]any{"a": "12.50"}, true},
		{"number with other text", map[string]any{"a": json.Number("12.5")}, map[string]any{"a": "12.50"}, false},
		{"nested null must stay", map[string]any{"a": map[string]any{}}, map[string]any{"a": map[string]any{"b": nil}}, false},
		{"array order matters", map[string]any{"a": []any{"1", "2"}}, map[string]any{"a": []any{"2", "1"}}, false},
		{"bool is not its text", map[string]any{"a": "true"}, map[string]any{"a": true}, false},
		{"missing field", map[string]any{}, map[string]any{"a": "x"}, false},
		{"extra field", map[string]any{"a": "x", "b": "y"}, map[string]any{"a": "x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Equal(tt.got, tt.want); got != tt.equal {
				t.Errorf("Equal = %v, want %v", got, tt.equal)
			}
		})
	}
}
