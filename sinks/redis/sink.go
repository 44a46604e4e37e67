// Package redis is the Redis sink: each view doc is one key, written by a
// server-side script that compares the doc's rev with the stored one, so a
// batch is one pipelined round trip and an older write never wins.
//
// # Revs
//
// The rev of a doc key K is kept in its own string key, RevKeyPrefix + K,
// with K wrapped in braces unless it has a hash tag of its own:
// "order:1" → "projector:rev:{order:1}", "user:{42}:stats" →
// "projector:rev:user:{42}:stats" (a key that is empty or has a "}" but
// no hash tag gets a tag of its own slot instead). Both keys therefore hash
// to the same Redis Cluster slot, which a script touching two keys
// requires. Revs follow keys rather than (view, id) so that a changed key
// template starts from empty keys instead of stale revs.
//
// A live doc's rev key lives as long as the doc (without expiry when the
// view has no TTL, else TTL+TombstoneTTL); after a delete the rev key is
// the tombstone and expires after TombstoneTTL. An older write replayed
// after that would recreate the doc, so the tombstone TTL must outlast any
// replay.
//
// # Indexes
//
// A view may have secondary indexes (see Index): sorted sets of doc ids,
// kept right by the same script call, under the same rev guard, as the
// doc itself.
package redis

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/projectorhq/projector/internal/redisconn"
	"github.com/redis/go-redis/v9"
)

// Formats a view can store its docs in.
const (
	FormatJSON   = "json"   // SET key <doc as JSON>
	FormatHash   = "hash"   // HSET key field value …: top-level fields
	FormatReJSON = "rejson" // JSON.SET key $ <doc>; needs the RedisJSON module
)

// View is a read model stored in Redis.
type View struct {
	Name string
	// Key is the key template: "order:{id}", "user:{user_id}:stats". Its
	// placeholders name id fields (sinks.Doc.Key); "{{" and "}}" are
	// literal braces.
	Key string
	// Format is FormatJSON (the default), FormatHash or FormatReJSON. In a
	// hash, nested values are JSON strings, strings raw, numbers their
	// digits, booleans "true"/"false", and null fields are left out;
	// the fields JSON names hold JSON text whatever their value, a string
	// quoted, so that a reader tells "123" from 123.
	Format string
	JSON   []string      // fields of type json or jsonb
	TTL    time.Duration // 0 = no expiry
	Fields []string      // nil = all top-level fields
	// Indexes are sorted sets of the docs' ids by a field (see Index); a
	// view with a TTL cannot have any.
	Indexes []Index
}

// Options tune the sink; the zero value is usable.
type Options struct {
	// TombstoneTTL is how long a deleted doc's rev is kept (default 24h).
	TombstoneTTL time.Duration
	// RevKeyPrefix starts every rev key (default "projector:rev:"); no key
	// template may start with it. It must not contain braces.
	RevKeyPrefix string
	// MembershipKeyPrefix starts the keys that record which index keys a
	// doc of a view with indexes is in (default "projector:ix:"); the same
	// rules apply as to RevKeyPrefix, and neither may start with the other.
	MembershipKeyPrefix string
}

// Sink writes view docs to Redis.
type Sink struct {
	client redis.UniversalClient
	views  map[string]*view
	opts   Options
	script *redis.Script
	stale  atomic.Uint64
	// maxBulk is the server's proto-max-bulk-len, the longest argument it
	// takes (512 MB unless configured otherwise; see Check).
	maxBulk atomic.Int64
}

// defaultMaxBulk is Redis' default proto-max-bulk-len.
const defaultMaxBulk = 512 << 20

type view struct {
	View
	key     template
	fields  map[string]bool // nil = all
	indexes []index
	// tagField is the field whose value is the key's hash tag
	// ("order:{{{user_id}}}:{id}"), if any (see placement).
	tagField string
}

// New validates the views and returns a sink for them; it does no I/O
// (Check verifies the server).
func New(client redis.UniversalClient, views []View, opts Options) (*Sink, error) {
	var errs []error
	if client == nil {
		errs = append(errs, errors.New("no client"))
	}
	if opts.TombstoneTTL < 0 {
		errs = append(errs, fmt.Errorf("tombstone TTL %s is negative", opts.TombstoneTTL))
	}
	if opts.TombstoneTTL == 0 {
		opts.TombstoneTTL = 24 * time.Hour
	}
	if opts.RevKeyPrefix == "" {
		opts.RevKeyPrefix = "projector:rev:"
	}
	if opts.MembershipKeyPrefix == "" {
		opts.MembershipKeyPrefix = "projector:ix:"
	}
	if strings.ContainsAny(opts.RevKeyPrefix, "{}") {
		errs = append(errs, fmt.Errorf("rev key prefix %q contains a brace", opts.RevKeyPrefix))
	}
	if strings.ContainsAny(opts.MembershipKeyPrefix, "{}") {
		errs = append(errs, fmt.Errorf("membership key prefix %q contains a brace", opts.MembershipKeyPrefix))
	}
	if strings.HasPrefix(opts.RevKeyPrefix, opts.MembershipKeyPrefix) || strings.HasPrefix(opts.MembershipKeyPrefix, opts.RevKeyPrefix) {
		// One doc's membership key could then be another doc's rev key.
		errs = append(errs, fmt.Errorf("rev key prefix %q and membership key prefix %q overlap", opts.RevKeyPrefix, opts.MembershipKeyPrefix))
	}
	s := &Sink{client: client, views: make(map[string]*view, len(views)), opts: opts, script: redis.NewScript(writeScript)}
	s.maxBulk.Store(defaultMaxBulk)
	for _, v := range views {
		c, err := s.compile(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("view %q: %w", v.Name, err))
			continue
		}
		if _, dup := s.views[v.Name]; dup {
			errs = append(errs, fmt.Errorf("view %q: declared twice", v.Name))
			continue
		}
		s.views[v.Name] = c
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("redis sink: %w: %w", ErrInvalidView, err)
	}
	return s, nil
}

func (s *Sink) compile(v View) (*view, error) {
	if v.Name == "" {
		return nil, errors.New("name is empty")
	}
	switch v.Format {
	case "":
		v.Format = FormatJSON
	case FormatJSON, FormatHash, FormatReJSON:
	default:
		return nil, fmt.Errorf("format %q is not one of json, hash, rejson", v.Format)
	}
	if v.TTL < 0 || (v.TTL > 0 && v.TTL < time.Millisecond) {
		return nil, fmt.Errorf("TTL %s is not 0 or at least 1ms", v.TTL)
	}
	t, err := parseTemplate(v.Key)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(t.prefix(), s.opts.RevKeyPrefix) {
		return nil, fmt.Errorf("key template %q starts with the rev key prefix %q", v.Key, s.opts.RevKeyPrefix)
	}
	if strings.HasPrefix(t.prefix(), s.opts.MembershipKeyPrefix) {
		return nil, fmt.Errorf("key template %q starts with the membership key prefix %q", v.Key, s.opts.MembershipKeyPrefix)
	}
	indexes, err := s.compileIndexes(v, t)
	if err != nil {
		return nil, err
	}
	c := &view{View: v, key: t, indexes: indexes}
	if p, ok := t.placement(); ok {
		c.tagField = p.field
	}
	if v.Fields != nil {
		c.fields = make(map[string]bool, len(v.Fields))
		for _, f := range v.Fields {
			if f == "" || c.fields[f] {
				return nil, fmt.Errorf("field %q is empty or listed twice", f)
			}
			c.fields[f] = true
		}
	}
	return c, nil
}

// Name identifies the sink in logs, metrics and errors.
func (s *Sink) Name() string { return "redis" }

// Stale is how many docs were skipped because Redis already held the same
// or a newer rev.
func (s *Sink) Stale() uint64 { return s.stale.Load() }

// Key resolves a view's key template for a doc key (used by readers and
// tests).
func (s *Sink) Key(viewName string, key map[string]any) (string, error) {
	v := s.views[viewName]
	if v == nil {
		return "", fmt.Errorf("redis sink: view %q: %w", viewName, ErrUnknownView)
	}
	k, err := v.key.resolve(key)
	if err != nil {
		return "", fmt.Errorf("redis sink: view %q: %w", viewName, err)
	}
	return k, nil
}

// revKey names the key holding key's rev; see the package documentation.
func (s *Sink) revKey(key string) string { return tagged(s.opts.RevKeyPrefix, key) }

// membershipKey names the set of index keys the doc at key is in (see
// Index).
func (s *Sink) membershipKey(key string) string { return tagged(s.opts.MembershipKeyPrefix, key) }

// MembershipKey is membershipKey, for a rebuild's sweep: a doc whose key is
// gone may still be in index sets (written while the view had indexes,
// deleted while it had none).
func (s *Sink) MembershipKey(key string) string { return s.membershipKey(key) }

// tagged is prefix+key with a hash tag that puts it in key's cluster slot.
func tagged(prefix, key string) string {
	switch {
	case hashTag(key) != key:
		return prefix + key
	case key != "" && !strings.ContainsRune(key, '}'):
		return prefix + "{" + key + "}"
	default:
		// Braces around such a key would not make it the tag; a tag of the
		// same slot does.
		return prefix + "{" + redisconn.SlotTag(slot(key)) + "}" + key
	}
}

// Check verifies that the server is reachable and has what the views
// need: an eviction policy that keeps projector's keys (see
// checkEviction), and the RedisJSON module for the "rejson" format. On a
// Redis Cluster it checks every master, as each holds some of the keys.
// What only deserves a warning (ErrVolatileEviction, ErrCheckIncomplete)
// comes back only when nothing else is wrong.
func (s *Sink) Check(ctx context.Context) error {
	var mu sync.Mutex
	var refusals, warnings []error
	maxBulk, servers := int64(math.MaxInt64), 0
	err := s.eachMaster(ctx, func(ctx context.Context, server *redis.Client, name string) error {
		bulk, warns, err := s.checkServer(ctx, server)
		mu.Lock()
		defer mu.Unlock()
		maxBulk, servers = min(maxBulk, bulk), servers+1
		for _, w := range warns {
			warnings = append(warnings, fmt.Errorf("%s%w", name, w))
		}
		if err != nil {
			refusals = append(refusals, fmt.Errorf("%s%w", name, err))
		}
		return nil
	})
	if err != nil {
		// A cluster client that found no master to ask.
		return fmt.Errorf("redis sink: %w", err)
	}
	if servers == 0 {
		// A cluster whose slots are not assigned yet: an outage.
		return errors.New("redis sink: the Redis Cluster has no master serving slots yet")
	}
	s.maxBulk.Store(maxBulk)
	if err := errors.Join(refusals...); err != nil {
		return fmt.Errorf("redis sink: %w", err)
	}
	if len(warnings) > 0 {
		return fmt.Errorf("redis sink: %w", errors.Join(warnings...))
	}
	return nil
}

// eachMaster calls fn with every server that holds keys, and a name for
// its messages: each master of a cluster ("host:port: "), at once, or the
// one server of a single-node client (""). A Ring's shards are checked
// through the Ring itself, as before clusters were supported.
func (s *Sink) eachMaster(ctx context.Context, fn func(ctx context.Context, server *redis.Client, name string) error) error {
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, func(ctx context.Context, master *redis.Client) error {
			return fn(ctx, master, master.Options().Addr+": ")
		})
	case *redis.Client:
		return fn(ctx, c, "")
	default:
		return fn(ctx, nil, "")
	}
}

// checkServer is Check on one server (nil: through s.client): the longest
// argument it takes, the warnings, and what refuses it.
func (s *Sink) checkServer(ctx context.Context, server *redis.Client) (maxBulk int64, warnings []error, err error) {
	var c commander = s.client
	if server != nil {
		c = server
	}
	if err := c.Ping(ctx).Err(); err != nil {
		return defaultMaxBulk, nil, fmt.Errorf("ping: %w", err)
	}
	if err := s.checkStandalone(ctx); err != nil {
		return defaultMaxBulk, nil, err
	}
	maxBulk = readMaxBulk(ctx, c)
	switch err := checkEviction(ctx, c, s.views); {
	case err == nil:
	case errors.Is(err, ErrVolatileEviction), errors.Is(err, ErrCheckIncomplete):
		warnings = append(warnings, err)
	default:
		return maxBulk, nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(s.views)) {
		v := s.views[name]
		if v.Format != FormatReJSON {
			continue
		}
		info, err := c.Do(ctx, "COMMAND", "INFO", "JSON.SET").Slice()
		switch {
		case redisconn.Unavailable(err):
			warnings = append(warnings, fmt.Errorf("%w: look up JSON.SET: %w", ErrCheckIncomplete, err))
		case err != nil:
			return maxBulk, nil, fmt.Errorf("look up JSON.SET: %w", err)
		case len(info) == 0 || info[0] == nil:
			return maxBulk, nil, fmt.Errorf("view %q: %w", v.Name, ErrNoJSONModule)
		}
		break
	}
	return maxBulk, warnings, nil
}

// commander runs commands on one server (or through a client).
type commander interface {
	redis.Cmdable
	Do(ctx context.Context, args ...any) *redis.Cmd
}

// checkStandalone refuses a Redis Cluster node reached through a
// single-node client: every key of another node's slots would answer
// MOVED, which the sink can only retry, so the partition would stall for
// good. A server that does not say (INFO denied) is not refused.
func (s *Sink) checkStandalone(ctx context.Context) error {
	c, ok := s.client.(*redis.Client)
	if !ok {
		return nil
	}
	info, err := c.Info(ctx, "cluster").Result()
	if err == nil && infoField(info, "cluster_enabled") == "1" {
		return ErrCluster
	}
	return nil
}

// readMaxBulk reads the longest argument the server takes, so that a doc
// over it is refused alone (see prepare) rather than making Redis refuse
// its whole script call. A server that does not say (CONFIG denied or
// renamed, as managed services do, which keep the default) is taken to
// have the default.
func readMaxBulk(ctx context.Context, c redis.Cmdable) int64 {
	vals, err := c.ConfigGet(ctx, "proto-max-bulk-len").Result()
	if err != nil {
		return defaultMaxBulk
	}
	if n, err := strconv.ParseInt(vals["proto-max-bulk-len"], 10, 64); err == nil && n > 0 {
		return n
	}
	return defaultMaxBulk
}

// checkEviction reports a maxmemory-policy under which Redis may evict
// projector's keys when memory runs out. allkeys-* may take any revision or
// index membership key: an evicted revision lets an older write replayed
// later win and nothing shows it afterwards, so it fails the check
// (ErrEvictionPolicy) rather than logging: an operator would rather have
// projector refuse to start than serve silently wrong data, and the fix is
// one setting (noeviction, under which a full Redis refuses writes, which
// the sink retries and reports). volatile-* takes only keys with a TTL:
// the tombstones (a deleted doc's revision, kept for a while) and the docs
// of views given a TTL, whose loss only shortens what was already meant to
// expire; a tombstone evicted early lets a replay older than the delete
// bring the doc back, so it is reported (ErrVolatileEviction) for a
// warning, not refused: it is the default of managed services. The policy
// is read from INFO, which managed services that disable CONFIG still
// answer; a server that does not report it, or on which INFO is denied or
// renamed away (ErrCheckIncomplete), is not refused.
func checkEviction(ctx context.Context, c redis.Cmdable, views map[string]*view) error {
	info, err := c.Info(ctx, "memory").Result()
	if redisconn.Unavailable(err) {
		// Denied or renamed away: the server answers, only the policy is
		// unknown.
		return fmt.Errorf("%w: read the eviction policy: %w", ErrCheckIncomplete, err)
	}
	if err != nil {
		return fmt.Errorf("read memory settings: %w", err)
	}
	policy := infoField(info, "maxmemory_policy")
	if policy == "" || policy == "noeviction" {
		return nil
	}
	if strings.HasPrefix(policy, "volatile-") {
		for _, name := range slices.Sorted(maps.Keys(views)) {
			if v := views[name]; v.TTL > 0 {
				// Its live documents' revisions carry a TTL too.
				return fmt.Errorf("%w: maxmemory-policy is %s, and view %q has a ttl, so the revisions of its live documents may go too, and an older write win over a newer one (noeviction keeps them)",
					ErrVolatileEviction, policy, v.Name)
			}
		}
		return fmt.Errorf("%w: maxmemory-policy is %s (noeviction keeps them)", ErrVolatileEviction, policy)
	}
	return fmt.Errorf("%w: maxmemory-policy is %s (set it to noeviction)", ErrEvictionPolicy, policy)
}

// infoField is the value of one "name:value" line of INFO's answer.
func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}
