package debezium

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.json from the decoder's output")

// samplesDir holds the shared Debezium fixtures: ../shared beside the repo
// root, i.e. two levels up from this package.
const samplesDir = "../../shared/debezium-samples"

// sampleOptions are the decoder options a sample needs; the default is none.
var sampleOptions = map[string]Options{
	"postgres/decimal_precise_schemaless_1x": {Columns: map[string]string{"totalprice": "numeric(10,2)"}},
	// Payload-only: the hints turn the JSON text, base64 and point into values.
	"postgres/uuid_json_bytea_enum_point_payload_only_1x": {Columns: map[string]string{
		"o_json": "jsonb", "o_bytea": "bytea", "o_uuid": "uuid", "o_point": "point", "o_key": "bigint",
	}},
}

// inspectJSON is the change as `projector inspect` prints it.
func inspectJSON(t testing.TB, ch Change) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ch); err != nil {
		t.Fatalf("marshal: %v", err)
	}
	if !json.Valid(b.Bytes()) {
		t.Fatalf("invalid JSON: %s", b.Bytes())
	}
	return b.Bytes()
}

// sample is one Kafka record among the fixtures.
type sample struct {
	name       string // "postgres/create_schemaless"
	key, value []byte
	hasValue   bool
}

// loadSamples pairs every *.value.json with its *.key.json / *.key.txt; a
// key without a value is a record whose value is null. Files that are
// neither (a source document) are read as values.
func loadSamples(t testing.TB) []sample {
	t.Helper()
	var files []string
	err := filepath.WalkDir(samplesDir, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".txt") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("samples: %v (they live in shared/ beside the repository)", err)
	}
	byName := map[string]*sample{}
	for _, f := range files {
		rel, _ := filepath.Rel(samplesDir, f)
		rel = filepath.ToSlash(rel)
		base := strings.TrimSuffix(strings.TrimSuffix(rel, ".json"), ".txt")
		isKey := strings.HasSuffix(base, ".key")
		base = strings.TrimSuffix(strings.TrimSuffix(base, ".key"), ".value")
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := byName[base]
		if s == nil {
			s = &sample{name: base}
			byName[base] = s
		}
		if isKey {
			s.key = data
		} else {
			s.value, s.hasValue = data, true
		}
	}
	out := make([]sample, 0, len(byName))
	for _, s := range byName {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	if len(out) < 30 {
		t.Fatalf("found only %d samples in %s", len(out), samplesDir)
	}
	return out
}

func decodeSample(t testing.TB, s sample) (Change, error) {
	t.Helper()
	d, err := NewDecoder(sampleOptions[s.name])
	if err != nil {
		t.Fatal(err)
	}
	return d.Decode(s.key, s.value)
}

// TestGolden decodes every fixture and compares the inspect JSON with
// testdata/golden/<dir>__<name>.json (go test -run TestGolden -update).
func TestGolden(t *testing.T) {
	for _, s := range loadSamples(t) {
		t.Run(s.name, func(t *testing.T) {
			ch, err := decodeSample(t, s)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			got := inspectJSON(t, ch)
			file := filepath.Join("testdata", "golden", strings.ReplaceAll(s.name, "/", "__")+".json")
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the golden file:\n got: %s\nwant: %s", s.name, got, want)
			}
		})
	}
}
