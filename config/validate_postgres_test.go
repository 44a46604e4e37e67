package config

import (
	"strings"
	"testing"
)

// pgViewFile is a view of areas with the given fields (YAML lines under
// fields:) and sinks (lines under sinks:); the source's key is id.
func pgViewFile(fields, sinks string) string {
	return `version: 1
kafka: { brokers: "localhost:9092" }
stores:
  postgres: { url: "postgres://h/db" }
  redis: { url: "redis://h" }
sources:
  areas:
    topic: geo.public.areas
    key: id
    columns: { id: bigint, lo: double precision, raw: json, raws: "json[]", doc: jsonb }
views:
  area_view:
    from: areas
    fields:
` + fields + `    sinks:
` + sinks
}

func TestPostgresViewNamesAndTypesPostgresRefuses(t *testing.T) {
	for _, tc := range []struct{ name, fields, sinks, at string }{
		{"pg_ schema", "      id: id\n", "      postgres: { table: t, schema: pg_reports }\n", "p.yaml:17:"},
		{"system column as an id left out of fields", "      xmin: id\n      lo: lo\n", "      postgres: { table: t, fields: [lo] }\n", "p.yaml:15:"},
		{"json id named by id:", "      id: id\n      r: raw\n", "      postgres: { table: t }\n    id: [r]\n", "p.yaml:16:"},
		{"json retyped id", "      id: { column: id, type: json }\n", "      postgres: { table: t }\n", "p.yaml:15:"},
		{"index on a json[] field", "      id: id\n      rs: raws\n", "      postgres: { table: t, indexes: [{ fields: [rs] }] }\n", "p.yaml:18:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(pgViewFile(tc.fields, tc.sinks)), lookupTestEnv)
			if err == nil {
				t.Fatalf("accepted:\n%s", pgViewFile(tc.fields, tc.sinks))
			}
			if !strings.Contains(err.Error(), tc.at) {
				t.Errorf("not reported at %s:\n%v", tc.at, err)
			}
		})
	}
}

func TestPostgresViewNamesAndTypesPostgresTakes(t *testing.T) {
	for _, tc := range []struct{ name, fields, sinks string }{
		{"system column name without a postgres sink", "      id: id\n      xmin: lo\n", "      redis: { key: \"area:{id}\" }\n"},
		{"system column name the sink does not keep", "      id: id\n      xmin: lo\n", "      postgres: { table: t, fields: [id] }\n"},
		{"a system column's name in capitals", "      id: id\n      XMIN: lo\n", "      postgres: { table: t }\n"},
		{"index on a path into json", "      id: id\n      r: raw\n", "      postgres: { table: t, indexes: [{ fields: [r.k] }] }\n"},
		{"index on jsonb", "      id: id\n      d: doc\n", "      postgres: { table: t, indexes: [{ fields: [d] }] }\n"},
		{"json retyped jsonb", "      id: id\n      r: { column: raw, type: jsonb }\n", "      postgres: { table: t, indexes: [{ fields: [r] }] }\n"},
		{"schema starting with pg but not pg_", "      id: id\n", "      postgres: { table: t, schema: pgreports }\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse("p.yaml", []byte(pgViewFile(tc.fields, tc.sinks)), lookupTestEnv); err != nil {
				t.Errorf("refused:\n%v", err)
			}
		})
	}
}
