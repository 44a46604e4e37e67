package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestR15oJSONLogsIncludeTheFatalError: with log.format json, the daemon's
// stderr is one JSON object per line, for the log pipeline to parse. The
// one line that says why `projector run` exited (here: the query
// PostgreSQL refuses connections at start, exit 1) is printed as plain
// text ("projector: postgres: ..."), so a JSON pipeline drops or mangles
// exactly the line an operator needs.
func TestR15oJSONLogsIncludeTheFatalError(t *testing.T) {
	file := widgetsConfig(t, `kafka: { brokers: "127.0.0.1:1", group: r15o-json-fatal }
stores: { postgres: { url: "postgres://app@127.0.0.1:1/shop?sslmode=disable&connect_timeout=2" } }
admin: { listen: "127.0.0.1:0" }
log: { format: json, level: info }`, `{ postgres: {} }`)
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"run", "-c", file}, &stdout, &stderr)
	if code != ExitFailure {
		t.Fatalf("exit %d, want 1 (PostgreSQL refuses connections)\n%s", code, stderr.String())
	}
	var bad []string
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			bad = append(bad, line)
		}
	}
	if len(bad) > 0 {
		t.Errorf("log.format json, but %d line(s) of stderr are not JSON:\n%s", len(bad), strings.Join(bad, "\n"))
	}
}
