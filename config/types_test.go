package config

import (
	"errors"
	"testing"
)

func TestParseType(t *testing.T) {
	tests := []struct {
		in, want string // want is the canonical String(); "" means an error
		typ      Type
	}{
		{in: "bigint", want: "bigint", typ: Type{Name: "bigint", Precision: -1, Scale: -1}},
		{in: "INT8", want: "bigint"},
		{in: "int", want: "integer"},
		{in: "int4", want: "integer"},
		{in: "smallint", want: "smallint"},
		{in: "numeric", want: "numeric"},
		{in: "decimal(10, 2)", want: "numeric(10,2)", typ: Type{Name: "numeric", Precision: 10, Scale: 2}},
		{in: "numeric(12)", want: "numeric(12)"},
		{in: "real", want: "real"},
		{in: "float8", want: "double precision"},
		{in: "double   precision", want: "double precision"},
		{in: "bool", want: "boolean"},
		{in: "text", want: "text"},
		{in: "varchar(255)", want: "varchar(255)"},
		{in: "character varying(20)", want: "varchar(20)"},
		{in: "uuid", want: "uuid"},
		{in: "date", want: "date"},
		{in: "time", want: "time"},
		{in: "timestamp", want: "timestamp"},
		{in: "timestamp(3)", want: "timestamp(3)"},
		{in: "timestamp with time zone", want: "timestamptz"},
		{in: "timestamptz", want: "timestamptz"},
		{in: "jsonb", want: "jsonb"},
		{in: "json", want: "json"},
		{in: "bytea", want: "bytea"},
		{in: "text[]", want: "text[]", typ: Type{Name: "text", Precision: -1, Scale: -1, Array: true}},
		{in: "numeric(10,2)[]", want: "numeric(10,2)[]"},
		{in: " BigInt [] ", want: "bigint[]"},
		{in: ""},
		{in: "strng"},
		{in: "text(5)"},
		{in: "numeric(0)"},
		{in: "numeric(5,7)"},
		{in: "numeric(5,-1)"},
		{in: "numeric(1,2,3)"},
		{in: "numeric(10"},
		{in: "numeric((10))"},
		{in: "varchar(x)"},
		{in: "timestamp(7)"},
		{in: "int[][]"},
		{in: "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			typ, err := ParseType(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrType) {
					t.Fatalf("ParseType(%q) = %v, %v; want an ErrType error", tt.in, typ, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseType(%q): %v", tt.in, err)
			}
			if got := typ.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if tt.typ.Name != "" && typ != tt.typ {
				t.Errorf("ParseType(%q) = %#v, want %#v", tt.in, typ, tt.typ)
			}
			if again, err := ParseType(typ.String()); err != nil || again != typ {
				t.Errorf("String() does not parse back: %v, %v", again, err)
			}
		})
	}
}

func TestTypeStringWithoutParameters(t *testing.T) {
	// A Type built by hand has zero, not -1, parameters.
	if got := (Type{Name: "text"}).String(); got != "text" {
		t.Errorf("String() = %q, want text", got)
	}
}
