package projector

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestSlimWideRow: the state's rows cut down to more columns than one
// jsonb_build_object call takes (PostgreSQL passes a function at most 100
// arguments) come out whole, a column the row lacks as null, as slimRow
// gives them in memory.
func TestSlimWideRow(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	for _, n := range []int{0, 1, 49, 50, 51, 100, 101, 130} {
		row := map[string]any{}
		cols := make([]string, 0, n+1)
		for i := range n {
			col := fmt.Sprintf("c%d", i)
			row[col] = i
			cols = append(cols, col)
		}
		cols = append(cols, "gone's")
		data, err := json.Marshal(row)
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		if err := pool.QueryRow(context.Background(), `SELECT `+slim("d", cols)+` FROM (SELECT $1::jsonb AS d) s`, data).Scan(&got); err != nil {
			t.Fatalf("%d columns: %v", len(cols), err)
		}
		want, err := json.Marshal(slimRow(row, cols))
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(t, got, want) {
			t.Errorf("%d columns: slim gives %s, want %s", len(cols), got, want)
		}
	}
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}
