package stack

import "errors"

// ErrRedisAuth is a Redis that refuses the credentials of
// stores.redis.url (WRONGPASS, NOAUTH): Wire fails rather than start a
// daemon that would retry its writes forever.
var ErrRedisAuth = errors.New("redis refused projector's credentials")
