package config

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// r13cDoc is a small valid configuration with the given stores block.
func r13cDoc(stores string) string {
	return "version: 1\nkafka: { brokers: \"localhost:9092\" }\n" + stores + `
sources:
  orders:
    topic: shop.public.orders
    key: id
    columns: { id: bigint, status: text }
views:
  v:
    from: orders
    fields: { id: id, status: status }
    sinks: { postgres: {} }
`
}

// README: "A password in a URL is percent-encoded (an @ as %40; validate
// refuses one left bare: drivers would read its tail as the host, and
// their errors would show it)". A password given as ?password= in a URL
// without a path has its bare @ read by pgx (as by libpq) as the end of
// the user info: pgx dials the password's tail as the host and puts its
// head in the user name its errors show. checkURL counts @ only up to the
// first '/', and passes a URL with a single one.
func TestR13cBareAtInQueryPasswordWithoutPath(t *testing.T) {
	const u = "postgres://db.internal:5432?sslmode=disable&password=Xy7secret@tail.example"
	// What the driver makes of it: the password's tail is the host.
	pc, err := pgxpool.ParseConfig(u)
	if err != nil {
		t.Fatalf("pgx refuses the URL: %v", err)
	}
	if pc.ConnConfig.Host != "tail.example" {
		t.Fatalf("pgx reads host %q; the premise of this test no longer holds", pc.ConnConfig.Host)
	}
	doc := r13cDoc("stores: { postgres: { url: \"" + u + "\" } }")
	_, err = Parse("p.yaml", []byte(doc), func(string) (string, bool) { return "", false })
	if err == nil {
		t.Fatalf("a postgres URL whose ?password= has a bare @ (pgx dials the password's tail %q as the host) is accepted; want an error at stores.postgres.url (p.yaml:3:...)", pc.ConnConfig.Host)
	}
	if !strings.Contains(err.Error(), "p.yaml:3:") {
		t.Errorf("error not at stores.postgres.url:\n%v", err)
	}
}
