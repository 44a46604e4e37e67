package projections_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// r36dColumnsFile is a file whose source declares n columns and whose view
// reads n fields, each from the column named by column(i).
func r36dColumnsFile(n int, column func(i int) string) string {
	var b strings.Builder
	b.WriteString("version: 1\nkafka: { brokers: \"localhost:9092\" }\nstores: { postgres: { url: \"postgres://x/y\" } }\nsources:\n  s:\n    topic: t\n    key: id\n    columns:\n      id: bigint\n")
	for i := range n {
		fmt.Fprintf(&b, "      column_number_%d: text\n", i)
	}
	b.WriteString("views:\n  v:\n    from: s\n    sinks: { postgres: {} }\n    fields:\n      id: id\n")
	for i := range n {
		fmt.Fprintf(&b, "      f%d: %s\n", i, column(i))
	}
	return b.String()
}

// r36dValidate is how long validate's checks take on data, and its
// problems.
func r36dValidate(data string) (time.Duration, error) {
	start := time.Now()
	cfg, err := config.ParseDraft("t.yaml", []byte(data), lookup)
	if cfg != nil {
		_, err = projections.CompileDraft(cfg, err)
	}
	return time.Since(start), err
}

// A bad configuration must fail in bounded time. Each column a field names
// that its source lacks is compared with every declared column for a "did
// you mean" (config.Suggest: an edit distance per pair), and the message
// looks the value up among every value of the file (Config.ShowAt): the
// time grows with the square of the file. A 60 KB file of 1,000 columns
// and 1,000 fields each misspelling one takes 2.7 s of CPU, 2,000 (125 KB)
// 11.4 s, 4,000 over a minute, against 25 ms for the same file spelled
// right (compiler.column; config.Suggest, Config.ShowAt).
func TestR36DManyUnknownColumnsValidateInBoundedTime(t *testing.T) {
	const n = 600
	good, err := r36dValidate(r36dColumnsFile(n, func(i int) string { return fmt.Sprintf("column_number_%d", i) }))
	if err != nil {
		t.Fatal(err)
	}
	bad, err := r36dValidate(r36dColumnsFile(n, func(i int) string { return fmt.Sprintf("colunm_nubmer_x%d", i) }))
	if err == nil || strings.Count(err.Error(), "\n")+1 != n {
		t.Fatalf("want %d problems, got %v", n, err)
	}
	if bad > 10*good+time.Second {
		t.Errorf("the file validates in %v spelled right, %v with its %d columns misspelled", good, bad, n)
	}
}
