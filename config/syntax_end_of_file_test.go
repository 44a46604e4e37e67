package config

import "testing"

// A YAML syntax error yaml.v3 places at the end of the stream (a flow
// collection left open in a file with no final newline) is reported at
// the end of the file's last line, not on a line after it.
func TestSyntaxErrorAtEndOfStreamIsAtTheFilesEnd(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{"{", "f.yml:1:2: invalid YAML: did not find expected node content"},
		{"{\"version\": 1,\n \"kafka\": {\"brokers\": \"k:9092\"}", "f.yml:2:32: invalid YAML: did not find expected ',' or '}'"},
		{"version: 1\nkafka: [\r", "f.yml:2:9: invalid YAML: did not find expected node content"},
		{"{\n", "f.yml:2:1: invalid YAML: did not find expected node content"},
	} {
		_, err := Parse("f.yml", []byte(tc.data), lookupTestEnv)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: %v, want %s", tc.data, err, tc.want)
		}
	}
}
