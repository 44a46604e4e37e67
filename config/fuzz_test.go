package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that no input panics or hangs, and that the result is
// either a valid Config or Errors that each point at a real place, never
// showing a value from the environment.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"a: &a [*a]",
		"version: 1\nviews: &v {x: {fields: *v}}",
		"<<: {version: 1}\n<<: [*x]",
		"version: ${SECRET_LEVEL}\nlog: {level: \"${SECRET_LEVEL}\"}",
		"kafka: {brokers: [${SECRET_URL}]}",
		"\t",
		"--- !!binary\n",
		"? [a]\n: b",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yml", data, lookupTestEnv)
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse returned config %v and error %v: want exactly one", c != nil, err)
		}
		if err == nil {
			if c.Version != CurrentVersion || len(c.Sources) == 0 || len(c.Views) == 0 || c.Stores.Postgres.URL == "" {
				t.Fatalf("an accepted config misses required parts: %+v", c)
			}
			return
		}
		var errs Errors
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("error is %T %v, want non-empty Errors", err, err)
		}
		for i, e := range errs {
			if e.Pos.Line < 1 || e.Pos.Col < 1 || e.Pos.File != "fuzz.yml" || e.Msg == "" {
				t.Fatalf("bad error entry %#v", e)
			}
			if i > 0 && (e.Pos.Line < errs[i-1].Pos.Line || e.Pos.Line == errs[i-1].Pos.Line && e.Pos.Col < errs[i-1].Pos.Col) {
				t.Fatalf("errors not sorted: %v before %v", errs[i-1], e)
			}
		}
		if strings.Contains(err.Error(), secret) && !strings.Contains(string(data), secret) {
			t.Fatalf("an error shows a value from the environment:\n%v", err)
		}
		if _, again := Parse("fuzz.yml", data, lookupTestEnv); again.Error() != err.Error() {
			t.Fatalf("Parse is not deterministic:\n%v\n---\n%v", err, again)
		}
	})
}
