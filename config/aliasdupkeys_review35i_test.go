package config_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
)

// r35iDupKeysBomb is a view anchored as a flow mapping of keys copies of
// one key ("a: 1" written keys times), aliased as views views: the file
// grows with keys + views, what the aliases bring in with keys * views.
func r35iDupKeysBomb(keys, views int) []byte {
	var b strings.Builder
	b.WriteString(`version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://localhost/shop" } }
sources:
  orders: { topic: shop.public.orders, key: id, columns: { id: bigint, total: numeric } }
views:
  v0: &dup {`)
	for i := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("a: 1")
	}
	b.WriteString("}\n")
	for i := 1; i < views; i++ {
		fmt.Fprintf(&b, "  v%d: *dup\n", i)
	}
	return []byte(b.String())
}

// TestR35iAliasOfDuplicateKeysIsBounded: the README says a file whose
// aliases bring in more than 100,000 nodes ("each node reached through an
// alias") is refused as too large. A mapping whose keys are all one key
// written many times is walked in full by every alias to it, and each
// repeated key adds a "duplicate key" problem naming the view it is in,
// yet only the alias and the one kept value count against the bound. Here
// 500 aliases bring in 300 pairs each (300,000 nodes): the file is not
// refused as too large and 150,000 problems are made instead. Scaled up
// (1,000 keys, 5,000 aliases: a 75 KB file), parsing allocates 2 GB,
// takes 5 s and returns a 319 MB error; a 1 MB file exhausts memory.
func TestR35iAliasOfDuplicateKeysIsBounded(t *testing.T) {
	const tooLarge = "too large after expanding aliases"
	data := r35iDupKeysBomb(300, 500)
	_, err := config.ParseDraftWith("bomb.yml", data, func(string) (string, bool) { return "", false }, config.Options{Offline: true})
	var errs config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("not refused: %v", err)
	}
	found := false
	for _, e := range errs {
		found = found || strings.Contains(e.Msg, tooLarge)
	}
	if !found {
		t.Errorf("a %d-byte file whose aliases bring in 300,000 nodes is not refused as %q: %d problems instead, the first %q",
			len(data), tooLarge, len(errs), errs[0].Error())
	}
}
