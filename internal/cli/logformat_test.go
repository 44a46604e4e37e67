package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestJSONLogsOnly: with log.format json every line the daemon writes to
// stderr is JSON, go-redis's own (its pool's "failed to dial" while Redis
// is down) included.
func TestJSONLogsOnly(t *testing.T) {
	if os.Getenv("JSONLOG_CHILD") != "" {
		os.Exit(Main(context.Background(), []string{"run", "-c", os.Getenv("JSONLOG_CHILD")}, os.Stdout, os.Stderr))
	}
	_, url := testenv.Postgres(t)
	rd := testenv.PrivateRedis(t)
	rd.Stop() // down: an outage the daemon starts through
	file := widgetsConfig(t, `kafka: { brokers: "127.0.0.1:1", group: json-logs }
stores:
  postgres: { url: "${PROJECTOR_POSTGRES_URL}" }
  redis: { url: "${JSONLOG_REDIS_URL}" }
admin: { listen: "127.0.0.1:0" }
log: { format: json, level: debug }`, `{ postgres: {}, redis: { key: "json-logs:{id}" } }`)
	cmd := exec.Command(os.Args[0], "-test.run=^TestJSONLogsOnly$")
	cmd.Env = append(os.Environ(), "JSONLOG_CHILD="+file, "PROJECTOR_POSTGRES_URL="+url, "JSONLOG_REDIS_URL="+rd.URL())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var bad []string
	fromRedis := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		var rec struct{ Component, Msg string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			bad = append(bad, line)
		}
		if rec.Component == "redis" && strings.Contains(rec.Msg, "failed to dial") {
			fromRedis = true
		}
		if strings.Contains(line, "projecting") || strings.HasPrefix(line, "projector:") {
			break // started (or failed): every start-up line is in
		}
	}
	if len(bad) > 0 {
		t.Errorf("log.format json, but %d lines are not JSON:\n%s", len(bad), strings.Join(bad, "\n"))
	}
	if !fromRedis {
		t.Error(`go-redis's "failed to dial" never came through the JSON log at debug`)
	}
}
