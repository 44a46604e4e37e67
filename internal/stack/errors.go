package stack

import "errors"

// ErrRedisAuth is a Redis that refuses the credentials of
// stores.redis.url (WRONGPASS, NOAUTH): Wire fails rather than start a
// daemon that would retry its writes forever.
var ErrRedisAuth = errors.New("redis refused projector's credentials")

// ErrConfig marks an error of Wire that the configuration causes (a store
// URL its driver refuses, a certificate file that cannot be read, a view a
// sink refuses), which no retry fixes: errors.Is(err, ErrConfig) tells it
// from an outage. The message is the cause's own.
var ErrConfig = errors.New("invalid configuration")

// configError is a cause marked ErrConfig without changing its message.
type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() []error {
	return []error{ErrConfig, e.err}
}

func configErr(err error) error { return configError{err} }
