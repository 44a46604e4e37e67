package config

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestSecretNotQuotedInErrors: a password written in the file with "${"
// in it (a generated one) is taken for a reference that cannot be
// expanded; the message names the key and its position but quotes no
// part of the value, for every secret-typed key.
func TestSecretNotQuotedInErrors(t *testing.T) {
	unset := func(string) (string, bool) { return "", false }
	for _, pw := range []string{`Xq7${kP9#zz}`, `Xq7${kP9zz}`, `${kP9zz`} {
		for key, yaml := range map[string]string{
			"kafka.sasl.password": kafkaYAML("  sasl:\n    mechanism: plain\n    username: u\n    password: '" + pw + "'\n"),
			"kafka.schema_registry.password": kafkaYAML("  schema_registry:\n    url: http://registry:8081\n    username: u\n" +
				"    password: '" + pw + "'\n"),
			"stores.elasticsearch.api_key": strings.Replace(kafkaYAML(""), `stores: { postgres: { url: "postgres://localhost/shop" } }`,
				`stores: { postgres: { url: "postgres://localhost/shop" }, elasticsearch: { url: "http://es:9200", api_key: '`+pw+`' } }`, 1),
		} {
			_, err := Parse("p.yaml", []byte(yaml), unset)
			if err == nil {
				t.Fatalf("%s %s: no error", key, pw)
			}
			if strings.Contains(err.Error(), "kP9") || !strings.Contains(err.Error(), key+": ") || !strings.Contains(err.Error(), "$${") {
				t.Errorf("%s %s: want the key, no part of the value, and how to write a literal ${:\n%v", key, pw, err)
			}
		}
	}
	// A secret that is one reference is a template, not a password: the
	// variable it names is shown.
	_, err := Parse("p.yaml", []byte(kafkaYAML("  sasl: { mechanism: plain, username: u, password: '${KAFKA_PW}' }")), unset)
	if want := `p.yaml:4:52: kafka.sasl.password: environment variable "KAFKA_PW" is not set`; err == nil || err.Error() != want {
		t.Errorf("an unset variable: %v, want %s", err, want)
	}
}

// TestSecretLiteralDollar: $$ is a literal $, so a password with "${" in
// it is written with "$${".
func TestSecretLiteralDollar(t *testing.T) {
	c, err := Parse("p.yaml", []byte(kafkaYAML("  sasl: { mechanism: plain, username: u, password: 'Xq7$${kP9zz}$' }")), lookupTestEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(c.Kafka.SASL.Password); got != `Xq7${kP9zz}$` {
		t.Errorf("password = %q, want %q", got, `Xq7${kP9zz}$`)
	}
}

// TestSecretsRedacted: every credential of the configuration is a
// Secret, so a Config printed or marshalled by mistake shows none.
func TestSecretsRedacted(t *testing.T) {
	yaml := strings.Replace(kafkaYAML(`  schema_registry: { url: "http://registry:8081", username: u, password: "${SECRET_LEVEL}" }
  sasl: { mechanism: plain, username: u, password: "${SECRET_LEVEL}" }`),
		`stores: { postgres: { url: "postgres://localhost/shop" } }`,
		`stores: { postgres: { url: "postgres://localhost/shop" }, elasticsearch: { url: "http://es:9200", username: u, password: "${SECRET_LEVEL}" } }`, 1)
	c, err := Parse("p.yaml", []byte(yaml), lookupTestEnv)
	if err != nil {
		t.Fatal(err)
	}
	c.Stores.Elasticsearch.APIKey = secret // not valid with a password, but it must not print either
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"%+v": fmt.Sprintf("%+v", *c), "%#v": fmt.Sprintf("%#v", *c), "json": string(js)} {
		if strings.Contains(out, secret) {
			t.Errorf("%s shows a secret: %s", name, out)
		}
	}
	for name, got := range map[string]Secret{"registry": c.Kafka.SchemaRegistry.Password, "sasl": c.Kafka.SASL.Password,
		"elasticsearch": c.Stores.Elasticsearch.Password} {
		if string(got) != secret {
			t.Errorf("%s: the value itself is lost", name)
		}
	}
}
