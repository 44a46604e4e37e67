package config

import "flag"

var update = flag.Bool("update", false, "rewrite the golden *.err files from the current output")

// secret is the value of every secret variable in testEnv; it must never
// appear in an error message.
const secret = "hunter2"

// testEnv is the environment every test file sees.
var testEnv = map[string]string{
	"PROJECTOR_POSTGRES_URL": "postgres://projector:" + secret + "@localhost:5432/shop",
	"SECRET_LEVEL":           secret,
	"SECRET_URL":             "redis//" + secret + "@cache",
	"SECRET_INT":             secret + "42",
	"SECRET_TOPIC":           secret + " topic",
	"SECRET_TYPE":            secret + "(3)",
	"BROKERS":                "kafka-1:9092, kafka-2:9092,,",
	"EMPTY":                  "",
	"GROUP":                  "shop",
}

func lookupTestEnv(name string) (string, bool) {
	v, ok := testEnv[name]
	return v, ok
}
