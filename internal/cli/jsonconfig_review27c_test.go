package cli

import (
	"strings"
	"testing"
)

// TestR27cInvalidConfigIsTextEvenWithJSONLog: README (Operations, logs):
// "With json, the error a command exits with is a JSON line too ... once
// the configuration is read; a configuration that cannot be read is
// reported as text, with its file:line:col" — and `validate` reports
// "every problem ... as file:line:col: message". A file whose
// log.format is json but which has a problem is not a configuration
// read: its problems must come as text lines, one per problem, as
// `inspect -c` already prints them for the same file. validate, run
// and the other loadPlan commands print them inside one JSON object.
func TestR27cInvalidConfigIsTextEvenWithJSONLog(t *testing.T) {
	file := widgetsConfig(t, `kafka: { brokers: "127.0.0.1:1", group: r27c, bogus: 1 }
stores: { postgres: { url: "postgres://app@127.0.0.1:1/shop" } }
log: { format: json }`, `{ postgres: {} }`)
	for name, args := range map[string][]string{
		"validate --offline": {"validate", "--offline", "-c", file},
		"run":                {"run", "-c", file},
		"inspect --topic":    {"inspect", "--topic", "t", "--offset", "0", "-c", file},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, errs := run(t, args...)
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d\n%s", code, ExitUsage, errs)
			}
			first := strings.SplitN(strings.TrimSpace(errs), "\n", 2)[0]
			if !strings.HasPrefix(first, file+":2:") || strings.HasPrefix(first, "{") {
				t.Errorf("the invalid configuration is reported as\n%s\nwant text lines starting with %s:2:COL:", errs, file)
			}
		})
	}
}
