package cli

import (
	"strings"
	"testing"
)

// TestValidateNotesAClockViewWithoutRefresh: a view whose where calls
// now() and declares no refresh is valid, with a note saying its
// documents change only with their rows; with a refresh, no note.
func TestValidateNotesAClockViewWithoutRefresh(t *testing.T) {
	const head = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://localhost/x" } }
sources:
  posts: { topic: t.public.posts, key: id, columns: { id: bigint, at: timestamptz } }
views:
  recent:
    from: posts
    where: at > now() - duration("720h")
    fields: { id: id }
    sinks: { postgres: {} }
`
	note := "note: view recent: its expressions call now() and it has no refresh"
	code, out, errs := run(t, "validate", "--offline", "-c", writeConfig(t, head))
	if code != ExitOK || !strings.Contains(out, note) {
		t.Errorf("without refresh: exit %d, want %d and %q\n%s%s", code, ExitOK, note, out, errs)
	}
	code, out, errs = run(t, "validate", "--offline", "-c", writeConfig(t, strings.Replace(head, "    fields:", "    refresh: 1h\n    fields:", 1)))
	if code != ExitOK || strings.Contains(out, "note: view recent") {
		t.Errorf("with refresh: exit %d, want %d and no note\n%s%s", code, ExitOK, out, errs)
	}
}
