package projections

import (
	"reflect"
	"testing"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/types"
)

// runJSONB runs src over env, whose values the checker takes for jsonb
// columns: of any type.
func runJSONB(t *testing.T, src string, env map[string]any) (any, error) {
	t.Helper()
	declared := types.Map{}
	for k := range env {
		declared[k] = types.Any
	}
	opts := append(append([]expr.Option{expr.Env(declared)}, checkedIntegers()...), runtimeChecks()...)
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		t.Fatalf("compile %s: %v", src, err)
	}
	return (&Expr{Source: src, Program: prog}).Run(env)
}

// TestJSONBTextIsNoArray: a jsonb holding text has no items to index or
// walk (PostgreSQL's '"hello"'::jsonb -> 0 is NULL), where expr-lang's
// would give its UTF-8 bytes: each is an error, and so null.
func TestJSONBTextIsNoArray(t *testing.T) {
	env := map[string]any{"tags": "héllo", "i": int64(0)}
	for _, src := range []string{
		`tags[0]`, `tags[1]`, `tags[-1]`, `tags[i]`, `tags?.[0]`, `first(tags)`, `last(tags)`, `get(tags, 0)`,
		`map(tags, #)`, `filter(tags, true)`, `any(tags, # == 104)`, `all(tags, # > 0)`, `none(tags, # == 0)`,
		`one(tags, # == 104)`, `count(tags, true)`, `sum(tags)`, `sum(tags, #)`, `find(tags, true)`,
		`findIndex(tags, true)`, `findLast(tags, true)`, `findLastIndex(tags, true)`, `groupBy(tags, #)`,
		`sortBy(tags, #)`, `reduce(tags, #acc + #, 0)`, `tags | map(# * 2) | first()`, `"h" in tags`,
	} {
		if got, err := runJSONB(t, src, env); err == nil {
			t.Errorf("%s of a jsonb text = %#v, want an error", src, got)
		}
	}
}

// TestJSONBArrayAndObjectStillIndexed: what is an array or an object is
// indexed and walked as before, and declared text keeps its own slicing.
func TestJSONBArrayAndObjectStillIndexed(t *testing.T) {
	env := map[string]any{
		"tags": []any{"vip", "early"},
		"info": map[string]any{"a": map[string]any{"b": "x"}, "k": "a"},
		"none": nil,
	}
	for src, want := range map[string]any{
		`tags[0]`:                 "vip",
		`tags[-1]`:                "early",
		`first(tags)`:             "vip",
		`map(tags, #)`:            []any{"vip", "early"},
		`any(tags, # == "vip")`:   true,
		`info.a.b`:                "x",
		`info["a"].b`:             "x",
		`info[info.k].b`:          "x",
		`none?.[0]`:               nil,
		`count(tags, # != "vip")`: 1,
	} {
		got, err := runJSONB(t, src, env)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v (%v), want %#v", src, got, err, want)
		}
	}
}

// TestJSONBTextLengthAndSliceByCharacters: a jsonb holding text has no
// items, but it is text: len() counts its characters and a slice cuts it
// by characters, as they do declared text (PostgreSQL's length and substr
// of info->>'name'), never by its UTF-8 bytes.
func TestJSONBTextLengthAndSliceByCharacters(t *testing.T) {
	env := map[string]any{"name": "héllo", "tags": []any{"a", "b", "c"}}
	for src, want := range map[string]any{
		`len(name)`:   5,
		`name[1:3]`:   "él",
		`name[:2]`:    "hé",
		`name[3:]`:    "lo",
		`len(tags)`:   3,
		`tags[1:]`:    []any{"b", "c"},
		`upper(name)`: "HÉLLO",
	} {
		got, err := runJSONB(t, src, env)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v (%v), want %#v", src, got, err, want)
		}
	}
}
