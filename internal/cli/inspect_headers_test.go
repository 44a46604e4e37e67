package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestInspectTombstoneHeaders: inspect reads a tombstone's headers as the
// daemon does, from Kafka or from --header: the SMT's positioned
// tombstone is a delete, a bare one a tombstone.
func TestInspectTombstoneHeaders(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "s.public.orders"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "s.public.orders", Key: []byte(`{"id":7}`),
		Headers: []kgo.RecordHeader{{Key: "__op", Value: []byte("d")}, {Key: "__lsn", Value: []byte("200")}}}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "inspect", "--brokers", strings.Join(c.ListenAddrs(), ","), "--topic", "s.public.orders", "--offset", "0")
	if code != ExitOK || !strings.Contains(out, `"op": "d"`) || !strings.Contains(out, `"lsn": 200`) {
		t.Errorf("inspect --topic of a positioned tombstone: exit %d\n%s%s\nwant a delete at lsn 200", code, out, errs)
	}

	dir := t.TempDir()
	value, key := filepath.Join(dir, "value"), filepath.Join(dir, "key")
	if err := os.WriteFile(value, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, []byte(`{"id":7}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = run(t, "inspect", "--value", value, "--key", key, "--header", "__op=d", "--header", "__lsn=300")
	if code != ExitOK || !strings.Contains(out, `"op": "d"`) || !strings.Contains(out, `"lsn": 300`) {
		t.Errorf("inspect --header: exit %d\n%s%s\nwant a delete at lsn 300", code, out, errs)
	}
	code, out, _ = run(t, "inspect", "--value", value, "--key", key)
	if code != ExitOK || !strings.Contains(out, `"kind": "tombstone"`) {
		t.Errorf("inspect of a bare tombstone: exit %d\n%s\nwant a tombstone", code, out)
	}
	if code, _, errs = run(t, "inspect", "--value", value, "--header", "nameless"); code != ExitUsage || !strings.Contains(errs, "want name=value") {
		t.Errorf("--header without =: exit %d %q, want %d and the form", code, errs, ExitUsage)
	}
}
