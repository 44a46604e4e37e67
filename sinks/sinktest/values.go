package sinktest

import (
	"encoding/json"
	"reflect"
	"strconv"
)

func idString(id int64) string { return strconv.FormatInt(id, 10) }

// content is the suite's doc for (id, rev): every field changes with the
// rev, so reading a doc back tells which rev is stored, and the note is null
// on even revs so that "a field that became null" is exercised everywhere.
func content(id, rev int64) map[string]any {
	r := json.Number(strconv.FormatInt(rev, 10))
	f := map[string]any{
		"id":     json.Number(idString(id)),
		"name":   "doc " + idString(id) + " rev " + string(r),
		"amount": string(r) + ".50",
		"qty":    r,
		"active": rev%2 == 0,
		"attrs":  map[string]any{"rev": r, "inner": map[string]any{"id": json.Number(idString(id))}},
		"tags":   []any{"t" + string(r), r},
		"note":   nil,
	}
	if rev%2 == 1 {
		f["note"] = "odd rev " + string(r)
	}
	return f
}

// Equal reports whether a doc read back from a store equals the doc written,
// up to what stores legitimately change: a top-level null field may be
// stored as null or left out, and a number may come back as a string with
// the same text or the other way round (a decimal sent as "12.50" is a
// number in a numeric column). Nested values must match exactly otherwise.
func Equal(got, want map[string]any) bool {
	return reflect.DeepEqual(normalizeTop(got), normalizeTop(want))
}

func normalizeTop(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if v == nil {
			continue
		}
		out[k] = normalize(v)
	}
	return out
}

func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case json.Number:
		return string(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	default:
		return v
	}
}
