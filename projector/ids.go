package projector

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/projectorhq/projector/debezium"
)

// text is the canonical text of one key or join value. Join lookups compare
// it with PostgreSQL's data->>'col', so it must render a value exactly as
// jsonb's ->> does for what the state stores.
func text(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.Itoa(x), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	case decimal.Decimal:
		return debezium.ExactDecimal(x), true
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), true
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v), true
	}
	// Dates, times of day and bytes are stored as JSON strings, which ->>
	// gives without their quotes.
	var s string
	if len(b) > 0 && b[0] == '"' && json.Unmarshal(b, &s) == nil {
		return s, true
	}
	// An array or object: ->> gives jsonb's own text of it.
	if t, err := jsonbText(b); err == nil {
		return t, true
	}
	return string(b), true
}

// docID is the canonical id of a document or state row from its key values:
// the text of a single value, or a JSON array of the texts of several.
func docID(vals []any) (string, bool) {
	if len(vals) == 1 {
		return text(vals[0])
	}
	parts := make([]string, len(vals))
	for i, v := range vals {
		t, ok := text(v)
		if !ok {
			return "", false
		}
		parts[i] = t
	}
	b, _ := json.Marshal(parts)
	return string(b), true
}

// pick returns the values of cols in row, and false if any is missing.
func pick(row map[string]any, cols []string) ([]any, bool) {
	vals := make([]any, len(cols))
	for i, c := range cols {
		v, ok := row[c]
		if !ok || v == nil {
			return nil, false
		}
		vals[i] = v
	}
	return vals, true
}
