package cli

import (
	"errors"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/redisconn"
)

// withStoreURLs adds to a configuration's problems the store URLs their
// drivers would refuse (an unknown sslmode, a Redis database that is not
// a number): config checks a URL's shape, the driver its options, and a
// URL `run` would refuse at start belongs with the file's other problems,
// at its key. A URL already found wrong is not looked at again.
func withStoreURLs(cfg *config.Config, problems error) error {
	var errs config.Errors
	errors.As(problems, &errs)
	found := errs
	check := func(ptr *string, fallback config.Pos, key string, parse func(string) error) {
		pos := cfg.ValuePos(ptr, fallback)
		if *ptr == "" || found.At(pos) || cfg.Unset(ptr) {
			return
		}
		if err := parse(*ptr); err != nil {
			errs.Add(pos, "%s: %s", key, driverReason(err, *ptr))
		}
	}
	pg, rd := &cfg.Stores.Postgres, &cfg.Stores.Redis
	check(&pg.URL, pg.Pos, "stores.postgres.url", func(u string) error { _, err := pgxpool.ParseConfig(u); return err })
	check(&rd.URL, rd.Pos, "stores.redis.url", redisconn.Check) // with a cluster's seeds (addr=host:port)
	if len(errs) == len(found) {
		return problems
	}
	return errs.Err()
}

// driverReason is a driver's complaint about a URL without the URL: pgx
// quotes it (its password redacted, as best it can), and nothing of it is
// shown here.
func driverReason(err error, raw string) string {
	msg := err.Error()
	if i := strings.Index(msg, "`: "); strings.HasPrefix(msg, "cannot parse `") && i >= 0 {
		msg = msg[i+3:]
	}
	if u, perr := url.Parse(raw); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}
