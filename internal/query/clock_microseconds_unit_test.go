package query

import (
	"slices"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/fieldvalue"
)

// TestTimeBoundTakenToMicroseconds: a time bound finer than a microsecond
// becomes the microsecond above it (gt, gte) or below it (lt, lte), the
// end of the day (24:00:00) included; a finer value is dropped from an
// equality, which then matches nothing.
func TestTimeBoundTakenToMicroseconds(t *testing.T) {
	f := &field{Name: "closes", Type: config.Type{Name: "time"}}
	for _, tc := range []struct {
		op      string
		values  []string
		wantOp  string
		wantVal []string
	}{
		{"gt", []string{"10:00:00.0000005"}, "gte", []string{"10:00:00.000001"}},
		{"gte", []string{"23:59:59.9999995"}, "gte", []string{"24:00:00"}},
		{"lt", []string{"23:59:59.9999995"}, "lte", []string{"23:59:59.999999"}},
		{"lte", []string{"00:00:00.0000001"}, "lte", []string{"00:00:00"}},
		{"eq", []string{"10:00:00.0000005"}, "in", nil},
		{"in", []string{"10:00:00.0000005", "09:00:00"}, "in", []string{"09:00:00"}},
		{"gt", []string{"10:00:00.000001"}, "gt", []string{"10:00:00.000001"}},
		{"eq", []string{"24:00:00.000"}, "eq", []string{"24:00:00"}},
	} {
		fl := filter{Param: "closes", Path: []string{"closes"}, Field: f, Op: tc.op}
		for _, v := range tc.values {
			canon, err := fieldvalue.Parse(f.Type, v)
			if err != nil {
				t.Fatalf("%s: %v", v, err)
			}
			fl.Values, fl.Raw = append(fl.Values, canon), append(fl.Raw, v)
		}
		got := toMicroseconds(fl)
		if got.Op != tc.wantOp || !slices.Equal(got.Values, tc.wantVal) || len(got.Raw) != len(got.Values) {
			t.Errorf("closes[%s]=%v: [%s] %q (raw %q), want [%s] %q", tc.op, tc.values, got.Op, got.Values, got.Raw, tc.wantOp, tc.wantVal)
		}
	}
}
