package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadFiles loads every testdata/*.bad.yml and compares the whole error
// output with its .err golden file. Run with -update to rewrite them.
func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bad.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("found %d bad files, want at least 15", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".bad.yml"), func(t *testing.T) {
			c, err := Load(file, lookupTestEnv)
			if err == nil {
				t.Fatalf("Load(%s) succeeded, want errors", file)
			}
			if c != nil {
				t.Errorf("Load returned a Config along with errors")
			}
			var errs Errors
			if !errors.As(err, &errs) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error is %T, want config.Errors matching ErrInvalid", err)
			}
			got := err.Error() + "\n"
			if strings.Contains(got, secret) {
				t.Errorf("an error message shows a value from the environment:\n%s", got)
			}
			golden := file + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}
