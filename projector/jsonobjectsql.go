package projector

import "strings"

// objectPairs is the most name-value pairs one jsonb_build_object call
// takes: PostgreSQL passes a function at most 100 arguments.
const objectPairs = 50

// JSONObjectSQL is the SQL of a jsonb object holding, under each of names,
// the SQL expression of the same index in values. A row of more than
// objectPairs columns (a wide table, a view reading many of its root's
// columns) is built as several objects joined by ||, in parentheses so
// that it is one operand wherever it is put; as each part is an object
// whatever its values, a null value stays a null member.
func JSONObjectSQL(names, values []string) string {
	if len(names) <= objectPairs {
		return objectSQL(names, values)
	}
	parts := make([]string, 0, (len(names)+objectPairs-1)/objectPairs)
	for start := 0; start < len(names); start += objectPairs {
		end := min(start+objectPairs, len(names))
		parts = append(parts, objectSQL(names[start:end], values[start:end]))
	}
	return "(" + strings.Join(parts, " || ") + ")"
}

// objectSQL is one jsonb_build_object call of names and values.
func objectSQL(names, values []string) string {
	args := make([]string, 0, 2*len(names))
	for i, name := range names {
		args = append(args, quoteLiteral(name), values[i])
	}
	return "jsonb_build_object(" + strings.Join(args, ", ") + ")"
}
