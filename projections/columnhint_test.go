package projections_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// manyColumns is a file whose source declares n columns and whose view
// reads n fields, each from a column the source lacks, one typing slip
// from a declared one.
func manyColumns(n int) string {
	var b strings.Builder
	b.WriteString("version: 1\nkafka: { brokers: \"localhost:9092\" }\nstores: { postgres: { url: \"postgres://x/y\" } }\nsources:\n  s:\n    topic: t\n    key: id\n    columns:\n      id: bigint\n")
	for i := range n {
		fmt.Fprintf(&b, "      amount_%d: text\n", i)
	}
	b.WriteString("views:\n  v:\n    from: s\n    sinks: { postgres: {} }\n    fields:\n      id: id\n")
	for i := range n {
		fmt.Fprintf(&b, "      f%d: amonut_%d\n", i, i)
	}
	return b.String()
}

// Every column a source lacks is a problem, at its place; a hint ("did
// you mean", the declared columns) costs as much as the source declares,
// and the hints of one file are bounded together: the first problems have
// one, and the file's messages grow with it, not with its square.
func TestMisspelledColumnHintsAreBounded(t *testing.T) {
	const n = 3000
	cfg, err := config.ParseDraft("t.yaml", []byte(manyColumns(n)), lookup)
	if cfg == nil {
		t.Fatal(err)
	}
	_, err = projections.CompileDraft(cfg, err)
	if err == nil {
		t.Fatal("accepted")
	}
	problems := strings.Split(err.Error(), "\n")
	if len(problems) != n {
		t.Fatalf("%d problems, want %d", len(problems), n)
	}
	if !strings.HasPrefix(problems[0], `t.yaml:3016:11: v.f0: source "s" has no column "amonut_0" (did you mean "amount_0"?)`) {
		t.Errorf("first problem: %s", problems[0])
	}
	hinted := strings.Count(err.Error(), "did you mean")
	if hinted == 0 || hinted == n {
		t.Errorf("%d of %d problems have a hint; want the first ones only", hinted, n)
	}
	if !strings.HasSuffix(err.Error(), fmt.Sprintf(`v.f%d: source "s" has no column "amonut_%d"`, n-1, n-1)) {
		t.Errorf("last problem: %s", problems[n-1])
	}
	if len(err.Error()) > 100*n {
		t.Errorf("%d bytes of messages for %d problems", len(err.Error()), n)
	}
}

// A few misspelled columns get their hint, whatever the source declares.
func TestMisspelledColumnsGetHints(t *testing.T) {
	file := strings.Replace(manyColumns(100), "      f5: amonut_5\n", "      f5: amount_5\n", 1)
	cfg, err := config.ParseDraft("t.yaml", []byte(file), lookup)
	if cfg == nil {
		t.Fatal(err)
	}
	_, err = projections.CompileDraft(cfg, err)
	if got := strings.Count(err.Error(), "did you mean"); got != 99 {
		t.Errorf("%d hints for 99 misspelled columns:\n%v", got, err)
	}
}
