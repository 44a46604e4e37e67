package redisconn_test

import (
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/redisconn"
)

// TestR33bCheckKeepsUnescapedPasswordOut: parse (redisconn.go) promises
// "the URL itself, password and all, is left out" of the error for a URL
// that does not parse, and TestCheckKeepsThePasswordOut pins it for a bad
// escape. Generated passwords often hold "/", "?" or "#" (base64), which
// end the authority when left unescaped: url.Parse then reads the
// password's first part as a port and says so, `invalid port ":s3cr"
// after host`, which Check and Open return. (projector's own commands
// validate the URL first and say only "it does not parse"; the leak is in
// the package every caller uses.) Expected: no part of the password in
// the error.
func TestR33bCheckKeepsUnescapedPasswordOut(t *testing.T) {
	for _, u := range []string{
		"redis://default:s3cr/Et+pw@127.0.0.1:6379/0",
		"redis://default:s3cr?Etpw@127.0.0.1:6379/0",
		"rediss://default:s3cr#Etpw@127.0.0.1:6379",
	} {
		err := redisconn.Check(u)
		if err == nil {
			t.Errorf("Check(%s): nil, want an error", u)
			continue
		}
		if strings.Contains(err.Error(), "s3cr") {
			t.Errorf("Check(URL whose password holds an unescaped delimiter) = %q: it quotes the password", err)
		}
	}
}
