package rebuild

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Fixture exposes the test fixture to the command-line test, which lives
// in package rebuild_test because the cli package imports this one.
type Fixture struct {
	f *fixture
	d *daemon
}

func NewFixture(t *testing.T) *Fixture { return &Fixture{f: newFixture(t)} }

// StartDaemon starts a daemon with the watcher and seeds items from..from+n-1.
func (x *Fixture) StartDaemon(from, n int64) {
	x.d = x.f.startDaemon()
	x.f.seed(x.d, from, n)
}

// ConfigFile writes the configuration, its variables resolved, to a file.
func (x *Fixture) ConfigFile(t *testing.T) string {
	t.Helper()
	yaml := strings.NewReplacer("${PG}", x.f.cfg.Stores.Postgres.URL, "${REDIS}", x.f.cfg.Stores.Redis.URL,
		"${PREFIX}", x.f.prefix, "${ES:-}", "").Replace(itemsYAML)
	path := filepath.Join(t.TempDir(), "projector.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// ReaderTable is the table readers of item_view see.
func (x *Fixture) ReaderTable() string { return x.f.readerTable() }
