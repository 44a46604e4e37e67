package cli

import (
	"maps"
	"strings"
	"testing"
	"time"
)

// TestSourceURLsFromTheEnvironment: the source database's URL, and its
// password, can come from the environment instead of the command line.
func TestSourceURLsFromTheEnvironment(t *testing.T) {
	env := map[string]string{
		"ORDERS_DB":            "postgres://u:secret@orders/db",
		"PROJECTOR_SOURCE_URL": "postgres://u:secret@default/db",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, c := range []struct {
		flags []string
		want  map[string]string
	}{
		{nil, map[string]string{"": "postgres://u:secret@default/db"}},
		{[]string{"orders=env:ORDERS_DB"}, map[string]string{"": "postgres://u:secret@default/db", "orders": "postgres://u:secret@orders/db"}},
		{[]string{"env:ORDERS_DB"}, map[string]string{"": "postgres://u:secret@orders/db"}},
		{[]string{"postgres://h/db?sslmode=disable", "users=postgres://h/u"}, map[string]string{"": "postgres://h/db?sslmode=disable", "users": "postgres://h/u"}},
	} {
		got, err := sourceURLs(c.flags, lookup)
		if err != nil || !maps.Equal(got, c.want) {
			t.Errorf("sourceURLs(%q) = %v, %v; want %v", c.flags, got, err, c.want)
		}
	}
	if _, err := sourceURLs([]string{"orders=env:NOPE"}, lookup); err == nil || !strings.Contains(err.Error(), "$NOPE is not set") {
		t.Errorf("an unset variable: err = %v, want it named", err)
	}
}

// TestKeepTakesDays: --keep reads durations as rebuild.keep does, days
// included.
func TestKeepTakesDays(t *testing.T) {
	var d time.Duration
	v := durationValue{&d}
	if err := v.Set("7d12h"); err != nil || d != 7*24*time.Hour+12*time.Hour {
		t.Errorf("--keep 7d12h = %v, %v; want 180h", d, err)
	}
	if err := v.Set("7"); err == nil {
		t.Errorf("--keep 7 (no unit) accepted as %v", d)
	}
}

// TestWithoutPassword: the URL the query CLI keys its cursors on holds no
// secret: neither the password nor the TLS client key's passphrase.
func TestWithoutPassword(t *testing.T) {
	got := withoutPassword("postgres://app:pw-1@db:5432/shop?sslmode=verify-full&password=pw-2&sslpassword=pw-3")
	for _, secret := range []string{"pw-1", "pw-2", "pw-3"} {
		if strings.Contains(got, secret) {
			t.Errorf("withoutPassword keeps %s: %s", secret, got)
		}
	}
	if !strings.Contains(got, "app@db:5432/shop") || !strings.Contains(got, "sslmode=verify-full") {
		t.Errorf("withoutPassword = %s, want the rest kept", got)
	}
}
