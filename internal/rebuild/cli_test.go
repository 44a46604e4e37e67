package rebuild_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/cli"
	"github.com/projectorhq/projector/internal/rebuild"
)

func projector(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestCommandLine drives `projector rebuild` and `projector generations` as
// a user would, next to a running daemon.
func TestCommandLine(t *testing.T) {
	f := rebuild.NewFixture(t)
	f.StartDaemon(1, 300)
	file := f.ConfigFile(t)

	code, out, errs := projector(t, "rebuild", "item_view", "-c", file, "--yes", "--keep", "0", "--chunk", "50")
	t.Logf("rebuild:\n%s%s", out, errs)
	if code != cli.ExitOK {
		t.Fatalf("rebuild: exit %d", code)
	}
	for _, want := range []string{"view item_view: generation 2 is active", "filled   300 documents", "live instances writing it during the build: 1", "postgres generation 1 dropped"} {
		if !strings.Contains(out, want) {
			t.Errorf("rebuild output lacks %q", want)
		}
	}
	for _, want := range []string{"fill", "verify", "docs/s"} {
		if !strings.Contains(errs, want) {
			t.Errorf("rebuild progress lacks %q", want)
		}
	}
	if got := f.ReaderTable(); got != "item_view__g2" {
		t.Errorf("readers select from %s", got)
	}

	code, out, errs = projector(t, "generations", "item_view", "-c", file)
	t.Logf("generations:\n%s%s", out, errs)
	if code != cli.ExitOK {
		t.Fatalf("generations: exit %d", code)
	}
	for _, want := range []string{"retired", "active", "dropped postgres", "1 live instance(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("generations output lacks %q", want)
		}
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"rebuild", "nope", "--yes"}, cli.ExitUsage, `view "nope" is not declared`},
		{[]string{"rebuild", "item_view", "--from", "nowhere", "--yes"}, cli.ExitUsage, "want state, source, kafka or signal"},
		{[]string{"rebuild", "item_view", "--from", "source", "--yes"}, cli.ExitUsage, "needs --source-url"},
		{[]string{"rebuild", "item_view", "--verify", "some", "--yes"}, cli.ExitUsage, "want revs or full"},
		{[]string{"rebuild", "item_view", "--sinks", "elasticsearch", "--yes"}, cli.ExitUsage, "store not configured: elasticsearch, for view item_view: stores.elasticsearch.url is empty"},
		{[]string{"rebuild", "item_view", "--sinks", "redis,es", "--yes"}, cli.ExitUsage, "stores.elasticsearch.url is empty"},
		{[]string{"rebuild", "item_view", "--sinks", "bogus"}, cli.ExitUsage, `unknown store "bogus": use postgres (pg), redis or elasticsearch (es)`},
		{[]string{"rebuild", "--abort", "item_view", "--yes"}, cli.ExitFailure, "nothing to abort"},
		{[]string{"rebuild", "--resume", "item_view"}, cli.ExitFailure, "no rebuild to resume"},
		{[]string{"rebuild", "--resume", "--abort", "item_view"}, cli.ExitUsage, "none of the others"},
		{[]string{"rebuild", "--resume", "--from", "kafka", "item_view"}, cli.ExitUsage, "leave them out"},
		{[]string{"rebuild", "--resume", "--sinks", "redis", "item_view"}, cli.ExitUsage, "leave them out"},
	} {
		code, _, errs := projector(t, append(c.args, "-c", file)...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, errs, c.code, c.want)
		}
	}
}
