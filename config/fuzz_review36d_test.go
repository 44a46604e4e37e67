package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// r36dSeeds are the repository's configurations, good and bad.
func r36dSeeds(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yml")
	files = append(files, "../examples/shop/projector.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint8(0))
		f.Add(data, uint8(1))
		f.Add(data, uint8(2))
	}
}

// r36dCheckPositions checks that every problem points at a place the file
// has: a line it has and a column on it (the end of a line included).
func r36dCheckPositions(t *testing.T, file string, data []byte, err error) {
	t.Helper()
	var errs Errors
	if !errors.As(err, &errs) || len(errs) == 0 {
		t.Fatalf("error is %T %v, want non-empty Errors", err, err)
	}
	lines := bytes.Split(data, []byte("\n"))
	for _, e := range errs {
		if e.Pos.File != file || e.Msg == "" {
			t.Fatalf("bad error entry %#v", e)
		}
		if e.Pos.Line == len(lines)+1 && e.Pos.Col == 1 && strings.HasPrefix(e.Msg, "invalid YAML") {
			continue // TestR36DSyntaxErrorAtEndOfFileIsInTheFile
		}
		if e.Pos.Line < 1 || e.Pos.Line > len(lines) {
			t.Fatalf("problem at line %d of a file of %d lines: %v", e.Pos.Line, len(lines), e)
		}
		l := lines[e.Pos.Line-1]
		if n := utf8.RuneCount(l); e.Pos.Col < 1 || e.Pos.Col > n+1 {
			t.Fatalf("problem at column %d of a line of %d characters %q: %v", e.Pos.Col, n, l, e)
		}
	}
}

// FuzzR36DParseWith parses with each set of Options: no panic, no hang,
// every problem at a place of the file, no value from the environment
// shown.
func FuzzR36DParseWith(f *testing.F) {
	r36dSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		opts := Options{}
		switch mode % 4 {
		case 1:
			opts.Offline = true
		case 2:
			opts.UnsetConnections = true
		case 3:
			opts.UnsetStores = true
		}
		start := time.Now()
		c, err := ParseDraftWith("fuzz.yml", data, lookupTestEnv, opts)
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("ParseDraftWith took %v on %d bytes", d, len(data))
		}
		if err == nil {
			if c == nil {
				t.Fatal("no config and no error")
			}
			return
		}
		r36dCheckPositions(t, "fuzz.yml", data, err)
		if strings.Contains(err.Error(), secret) && !strings.Contains(string(data), secret) {
			t.Fatalf("an error shows a value from the environment:\n%v", err)
		}
	})
}

// FuzzR36DInterpolate checks interpolation: no panic, and no problem
// quotes a value of the environment.
func FuzzR36DInterpolate(f *testing.F) {
	for _, s := range []string{"${SECRET_LEVEL}", "${A:-${SECRET_LEVEL}}", "${SECRET_LEVEL:-${B}", "$${X}", "${", "${A:-", "${A:-}}", "x${SECRET_URL}y${NOPE}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		x := interpolate(s, lookupTestEnv)
		for _, p := range x.problems {
			if strings.Contains(p, secret) && !strings.Contains(s, secret) {
				t.Fatalf("problem %q shows a value from the environment", p)
			}
		}
		if !x.refs && x.value != strings.ReplaceAll(s, "$$", "$") && !strings.Contains(s, "$$") {
			t.Fatalf("no reference in %q but the value is %q", s, x.value)
		}
	})
}

// FuzzR36DKeyTemplate: ParseKeyTemplate never panics and what it accepts
// round-trips.
func FuzzR36DKeyTemplate(f *testing.F) {
	for _, s := range []string{"order:{id}", "{{order}}:{id}", "a}}b{x.y}", "{", "}", "{a{b}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parts, err := ParseKeyTemplate(s)
		if err != nil {
			return
		}
		var b strings.Builder
		for _, p := range parts {
			if p.Field {
				b.WriteString("{" + p.Text + "}")
			} else {
				b.WriteString(strings.NewReplacer("{", "{{", "}", "}}").Replace(p.Text))
			}
		}
		again, err := ParseKeyTemplate(b.String())
		if err != nil || len(again) != len(parts) {
			t.Fatalf("%q parsed to %v, written back %q gives %v, %v", s, parts, b.String(), again, err)
		}
		_ = KeysOverlap(parts, again)
	})
}
