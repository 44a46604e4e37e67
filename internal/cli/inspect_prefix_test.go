package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInspectPrefixes: inspect reads the SMT's members under the prefixes
// --fields-prefix and --headers-prefix give, as run reads them under the
// source's unwrapped prefixes.
func TestInspectPrefixes(t *testing.T) {
	dir := t.TempDir()
	row, tombstone, key := filepath.Join(dir, "row"), filepath.Join(dir, "tombstone"), filepath.Join(dir, "key")
	for file, text := range map[string]string{row: `{"id":7,"meta_op":"d","meta_lsn":200,"meta_deleted":"true"}`, tombstone: "", key: `{"id":7}`} {
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errs := run(t, "inspect", "--value", row, "--key", key, "--fields-prefix", "meta_")
	if code != ExitOK || !strings.Contains(out, `"op": "d"`) || !strings.Contains(out, `"lsn": 200`) || strings.Contains(out, "meta_") {
		t.Errorf("inspect --fields-prefix: exit %d\n%s%s\nwant a delete at lsn 200", code, out, errs)
	}
	code, out, errs = run(t, "inspect", "--value", tombstone, "--key", key, "--headers-prefix", "hdr_", "--header", "hdr_op=d", "--header", "hdr_lsn=300")
	if code != ExitOK || !strings.Contains(out, `"op": "d"`) || !strings.Contains(out, `"lsn": 300`) {
		t.Errorf("inspect --headers-prefix: exit %d\n%s%s\nwant a delete at lsn 300", code, out, errs)
	}
}
