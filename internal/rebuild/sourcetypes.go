package rebuild

// --from source reads each column as Debezium's PostgreSQL connector sends
// it, so that the source's decoder gives the row the values the stream
// gives (README, "Column types"). jsonb renders most types as the
// connector does; the columns of the types below it renders otherwise are
// converted in the query, from the table's own type, whatever the file
// declares them as (it declares them as what Debezium sends).

import (
	"strings"

	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
)

// tableColumn is a column of a source table with its type (a domain's
// base type), as format_type writes it ("interval", "time(3) with time
// zone", "bit(1)[]").
type tableColumn struct{ name, typ string }

// sourceRowSQL is the SQL of a row t of the table as jsonb: the columns the
// state keeps, every one of the table's when the source declares none.
func sourceRowSQL(src *projections.Source, table []tableColumn) string {
	types := make(map[string]string, len(table))
	for _, c := range table {
		types[c.name] = c.typ
	}
	names := src.Kept
	if len(names) == 0 {
		names = src.Order
	}
	if len(names) == 0 {
		for _, c := range table {
			names = append(names, c.name)
		}
	}
	values := make([]string, len(names))
	for i, c := range names {
		values[i] = sourceValue("t."+quoteIdent(c), types[c])
		if declared := src.Columns[c]; types[c] == "hstore" && !declared.Array && (declared.Name == "text" || declared.Name == "varchar") {
			values[i] = hstoreText("t." + quoteIdent(c))
		}
	}
	return projector.JSONObjectSQL(names, values)
}

// sourceValue is the SQL of column col, of the table's type typ, as
// Debezium sends it; an array's elements are each converted as a value of
// the element type is.
func sourceValue(col, typ string) string {
	elem, array := strings.CutSuffix(typ, "[]")
	convert := debeziumForm(elem)
	switch {
	case convert == nil:
		return col
	case !array:
		return convert(col)
	}
	return "CASE WHEN " + col + " IS NULL THEN NULL ELSE coalesce((SELECT array_agg(" + convert("u.x") +
		" ORDER BY u.i) FROM unnest(" + col + ") WITH ORDINALITY AS u(x, i)), '{}') END"
}

// debeziumForm converts a value of type typ to what Debezium sends for it,
// where jsonb renders it otherwise; nil where jsonb renders it as Debezium
// does.
func debeziumForm(typ string) func(x string) string {
	switch {
	case typ == "bytea":
		// base64 (binary.handling.mode=bytes, JSON), where jsonb gives hex.
		return func(x string) string { return "translate(encode(" + x + ", 'base64'), E'\\n', '')" }
	case typ == "interval" || strings.HasPrefix(typ, "interval ") || strings.HasPrefix(typ, "interval("):
		return microDuration
	case typ == "money":
		// A number (of decimal.handling.mode's form), where jsonb gives
		// the text of lc_monetary: "$1,234.50".
		return func(x string) string { return x + "::numeric" }
	case typ == "bit(1)":
		// BOOLEAN, where jsonb gives the text "1".
		return func(x string) string { return "(" + x + " = B'1')" }
	case strings.HasSuffix(typ, " with time zone") && !strings.HasPrefix(typ, "timestamp"):
		return zonedTime
	}
	return nil
}

// microDuration is the SQL of interval x as Debezium's MicroDuration: the
// interval's fields as its text gives them to the connector (years and
// months, days, hours, minutes, and seconds with their fraction, each
// signed), added up in doubles with a month of 365.25 / 12 = 30.4375 days
// (MicroDuration.DAYS_PER_MONTH_AVG), not PostgreSQL's 30 of extract(epoch
// ...), and the microseconds cut to an integer toward zero, as Java's
// (long) cast does: the same double operations, in the same order, on the
// same doubles, give the same bits.
func microDuration(x string) string {
	field := func(f string) string { return "extract(" + f + " from " + x + ")::float8" }
	months := "(extract(year from " + x + ") * 12 + extract(month from " + x + "))::float8"
	days := "(" + months + " * 30.4375::float8 + " + field("day") + ")"
	// The seconds as pgjdbc's PGInterval.getSeconds gives them: whole
	// seconds plus the microseconds divided by a million, in doubles (not
	// the nearest double to the decimal: 1.003691 s is 1003690 µs then).
	sec := "extract(second from " + x + ")"
	second := "(trunc(" + sec + ")::float8 + round((" + sec + " - trunc(" + sec + ")) * 1000000)::float8 / 1000000::float8)"
	seconds := "(((" + days + " * 24 + " + field("hour") + ") * 60 + " + field("minute") + ") * 60 + " + second + ")"
	return "trunc(" + seconds + " * 1000000::float8)::bigint"
}

// hstoreText is the SQL of hstore x as the JSON text Debezium's default
// hstore.handling.mode=json sends ({"a":"1"}), for a column declared text;
// jsonb would render it an object. Its keys come in hstore's order, where
// Debezium's come from a Java HashMap: with several keys the text may
// differ from the stream's.
func hstoreText(x string) string {
	return "CASE WHEN " + x + " IS NULL THEN NULL ELSE (SELECT '{' || coalesce(string_agg(to_json(e.k)::text || ':' || coalesce(to_json(e.v)::text, 'null'), ','), '') || '}' FROM each(" +
		x + ") AS e(k, v)) END"
}

// zonedTime is the SQL of timetz x as Debezium's ZonedTime: the time in UTC
// as Java's ISO_OFFSET_TIME writes it, "08:11:12Z", with a fraction of as
// many digits as it needs ("08:11:12.5Z"), as PostgreSQL writes a time;
// jsonb gives the time at its own offset, "10:11:12+02".
func zonedTime(x string) string {
	return "((" + x + " AT TIME ZONE 'UTC')::time::text || 'Z')"
}
