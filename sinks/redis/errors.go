package redis

import "errors"

var (
	// ErrInvalidView: a view definition or option New cannot use.
	ErrInvalidView = errors.New("invalid view")
	// ErrUnknownView: a doc names a view the sink was not configured with.
	ErrUnknownView = errors.New("unknown view")
	// ErrKey: a doc's key does not resolve the view's key template.
	ErrKey = errors.New("cannot resolve key")
	// ErrBadValue: a doc value cannot be encoded.
	ErrBadValue = errors.New("value cannot be stored")
	// ErrNoJSONModule: a view uses the "rejson" format but the server has no
	// RedisJSON module.
	ErrNoJSONModule = errors.New(`format "rejson" needs the RedisJSON module, which the server does not have`)
	// ErrEvictionPolicy: the server's maxmemory-policy (allkeys-*) lets it
	// evict any revision or index key, which would let older writes win.
	ErrEvictionPolicy = errors.New("the server may evict the keys that guard revisions")
	// ErrVolatileEviction: the server's maxmemory-policy (volatile-*) lets
	// it evict keys with a TTL, tombstones among them, under memory
	// pressure: a warning, as live revisions and index keys are safe.
	ErrVolatileEviction = errors.New("the server may evict tombstones before their TTL")
	// ErrCluster: the server is a Redis Cluster node reached through a
	// single-node client (one that could not ask what the server is: the
	// user denied INFO and CLUSTER INFO, or a rebuild started while it did
	// not answer), which cannot write the other nodes' slots.
	ErrCluster = errors.New("the server is a Redis Cluster node, but projector's client is a single-node one (it could not ask the server what it is): name the cluster's nodes with addr=host:port in stores.redis.url")
	// ErrClusterIndexes: a view's indexes cannot be kept in its documents'
	// cluster slot.
	ErrClusterIndexes = errors.New("indexes cannot be kept")
	// ErrCheckIncomplete: the server's ACL denied a command of the check
	// (INFO, COMMAND; managed services often do), or the server does not
	// know it (renamed away), so what it would have checked is unknown: a
	// warning.
	ErrCheckIncomplete = errors.New("the check could not run every command")
)
