package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestInterpolate(t *testing.T) {
	env := map[string]string{"HOST": "db", "EMPTY": "", "SECRET": secret}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		name     string
		in, want string
		refs     bool
		problems []string
	}{
		{name: "plain", in: "localhost", want: "localhost"},
		{name: "variable", in: "${HOST}:5432", want: "db:5432", refs: true},
		{name: "two variables", in: "${HOST}-${HOST}", want: "db-db", refs: true},
		{name: "default unused", in: "${HOST:-x}", want: "db", refs: true},
		{name: "default for unset", in: "${NOPE:-x y}", want: "x y", refs: true},
		{name: "default for empty", in: "${EMPTY:-fallback}", want: "fallback", refs: true},
		{name: "empty default", in: "${NOPE:-}", want: "", refs: true},
		{name: "set but empty", in: "[${EMPTY}]", want: "[]", refs: true},
		{name: "nested default", in: "${NOPE:-${HOST}}", want: "db", refs: true},
		{name: "escaped dollar", in: "pa$$word", want: "pa$word"},
		{name: "escaped reference", in: "$${HOST}", want: "${HOST}"},
		{name: "lone dollar kept", in: "^a$ and $x", want: "^a$ and $x"},
		{name: "trailing dollar", in: "cost$", want: "cost$"},
		{name: "unset", in: "${NOPE}", refs: true, problems: []string{`environment variable "NOPE" is not set`}},
		{name: "every unset variable", in: "${A}${B}", refs: true, problems: []string{
			`environment variable "A" is not set`, `environment variable "B" is not set`}},
		{name: "unclosed", in: "${HOST", refs: true, problems: []string{
			`malformed reference "${HOST": use ${NAME}, ${NAME:-default} or $$ for a literal $`}},
		{name: "empty name", in: "${}", refs: true, problems: []string{
			`malformed reference "${}": use ${NAME}, ${NAME:-default} or $$ for a literal $`}},
		{name: "digit first", in: "${1A}", refs: true, problems: []string{
			`malformed reference "${1A}": use ${NAME}, ${NAME:-default} or $$ for a literal $`}},
		{name: "other operator", in: "${A:?err}", refs: true, problems: []string{
			`malformed reference "${A:?err}": use ${NAME}, ${NAME:-default} or $$ for a literal $`}},
		{name: "unclosed default", in: "${A:-x", refs: true, problems: []string{
			`malformed reference "${A:-x": use ${NAME}, ${NAME:-default} or $$ for a literal $`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := interpolate(tt.in, lookup)
			if len(tt.problems) == 0 && x.value != tt.want {
				t.Errorf("value = %q, want %q", x.value, tt.want)
			}
			if x.refs != tt.refs {
				t.Errorf("refs = %v, want %v", x.refs, tt.refs)
			}
			if !reflect.DeepEqual(x.problems, tt.problems) {
				t.Errorf("problems = %q, want %q", x.problems, tt.problems)
			}
		})
	}
}

func TestFromEnvNeverShowsTheValue(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"${SECRET}", "value from ${SECRET}"},
		{"${SECRET:-x}", "value from ${SECRET:-x}"},
		{"pre-${SECRET}", `value from "pre-${SECRET}"`},
	}
	for _, tt := range tests {
		if got := fromEnv(tt.raw); got != tt.want || strings.Contains(got, secret) {
			t.Errorf("fromEnv(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}
