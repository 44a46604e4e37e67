package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/sinks"
)

// writeScript applies a run of docs, each only if its rev is newer than
// the stored one. Commands issued from a script cost far more than the
// work they do, so the script reads every rev of the run with one MGET and
// writes the common case, JSON docs without TTL or indexes, with one MSET;
// other docs are written one by one.
//
//	KEYS, per doc         the doc's key and rev key, and for a view with
//	                      indexes its membership key (see Index)
//	ARGV[1..4]            what the docs share: op (json | hash | rejson |
//	                      del), doc TTL and rev key TTL in ms (0: none),
//	                      and "1" when the docs have indexes
//	ARGV[5..], per doc    rev, then for json and rejson the JSON doc, for
//	                      hash n and n values field, value, …; with
//	                      indexes then the member (the doc's id), m and m
//	                      pairs index key, score
//
// It returns one result per doc: 1 applied, 0 stale, or an error message
// (a failing doc does not stop the others). Revs are compared as decimal
// strings: Lua numbers are doubles and would round revs above 2^53. A rev
// key holding something other than a string reads as absent.
const writeScript = `
local function older(stored, rev)
  local sneg, rneg = string.byte(stored, 1) == 45, string.byte(rev, 1) == 45 -- '-'
  if sneg ~= rneg then return sneg end
  if sneg then stored, rev = rev:sub(2), stored:sub(2) end
  if #stored ~= #rev then return #stored < #rev end
  return stored < rev
end

local function message(err)
  if type(err) == 'table' then err = err.err end
  if type(err) ~= 'string' then err = 'ERR ' .. tostring(err) end
  return err
end

local op, ttl, revTTL, indexed = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1'
local stride = indexed and 3 or 2

-- reindex puts a doc's member into the sorted sets of its new version (m
-- pairs key, score from ARGV[first]) and takes it out of those it was in
-- before and is no longer, as its membership key recorded them.
local function reindex(ixKey, member, first, m)
  local now = {}
  for i = first, first + 2 * m - 1, 2 do
    redis.call('ZADD', ARGV[i], ARGV[i + 1], member)
    now[ARGV[i]] = true
  end
  for _, k in ipairs(redis.call('SMEMBERS', ixKey)) do
    if not now[k] then redis.call('ZREM', k, member) end
  end
  redis.call('DEL', ixKey)
  for i = first, first + 2 * m - 1, 2 do redis.call('SADD', ixKey, ARGV[i]) end
end

-- checkIndexes fails, before anything is written, when a key reindex
-- touches holds another type: an index key the doc goes into or leaves
-- (listed in its membership key) that is not a sorted set, or a
-- membership key that is not a set. The doc then stays as it was, with
-- its memberships, and a retry starts from the same place.
local function sortedSet(k)
  local t = redis.call('TYPE', k).ok
  if t ~= 'zset' and t ~= 'none' then
    error('WRONGTYPE index key ' .. k .. ' holds a ' .. t .. ', not a sorted set', 0)
  end
end

local function checkIndexes(ixKey, first, m)
  for i = first, first + 2 * m - 1, 2 do sortedSet(ARGV[i]) end
  local t = redis.call('TYPE', ixKey).ok
  if t == 'set' then
    for _, k in ipairs(redis.call('SMEMBERS', ixKey)) do sortedSet(k) end
  elseif t ~= 'none' then
    error('WRONGTYPE membership key ' .. ixKey .. ' holds a ' .. t .. ', not a set', 0)
  end
end

-- write stores one doc whose rev is known to be newer, then its index
-- memberships (which cannot fail once checked) and its rev.
local function write(key, revKey, rev, first, n, ix)
  if ix then checkIndexes(ix.key, ix.first, ix.m) end
  if op == 'json' then
    -- Without a TTL only a doc with indexes comes here.
    if ttl > 0 then redis.call('SET', key, ARGV[first], 'PX', ttl) else redis.call('SET', key, ARGV[first]) end
  elseif op == 'del' then
    redis.call('DEL', key)
  elseif op == 'hash' then
    redis.call('DEL', key)
    for i = first, first + n - 1, 1000 do
      redis.call('HSET', key, unpack(ARGV, i, math.min(i + 999, first + n - 1)))
    end
    if ttl > 0 and n > 0 then redis.call('PEXPIRE', key, ttl) end
  elseif op == 'rejson' then
    local res = redis.pcall('JSON.SET', key, '$', ARGV[first])
    if type(res) == 'table' and res.err then
      -- Only an old value of another type is worth a second try; anything
      -- else (no module, bad JSON) leaves the key as it was.
      if not string.find(res.err, 'WRONGTYPE', 1, true) then error(res.err, 0) end
      redis.call('DEL', key)
      redis.call('JSON.SET', key, '$', ARGV[first])
    end
    if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('PERSIST', key) end
  else
    error('ERR unknown op ' .. tostring(op), 0)
  end
  if ix then reindex(ix.key, ix.member, ix.first, ix.m) end
  if revTTL > 0 then redis.call('SET', revKey, rev, 'PX', revTTL) else redis.call('SET', revKey, rev) end
end

local docs = #KEYS / stride
local revKeys = {}
for d = 1, docs do revKeys[d] = KEYS[stride * (d - 1) + 2] end
local stored = redis.call('MGET', unpack(revKeys))
local current = {} -- rev key → rev, as the docs before this one left it
for d = 1, docs do
  if current[revKeys[d]] == nil then current[revKeys[d]] = stored[d] end
end

local batch = op == 'json' and ttl == 0 and revTTL == 0 and not indexed
local results, batched, batchedDocs = {}, {}, {}
local a = 5
for d = 1, docs do
  local key, revKey, rev = KEYS[stride * (d - 1) + 1], revKeys[d], ARGV[a]
  local first, n = a + 1, 1
  if op == 'hash' then
    first, n = a + 2, tonumber(ARGV[a + 1])
  elseif op == 'del' then
    n = 0
  end
  a = first + n
  local ix
  if indexed then
    ix = {key = KEYS[stride * d], member = ARGV[a], m = tonumber(ARGV[a + 1]), first = a + 2}
    a = ix.first + 2 * ix.m
  end
  local cur = current[revKey]
  if cur and not older(cur, rev) then
    results[d] = 0
  elseif batch then
    local i = #batched
    batched[i + 1], batched[i + 2], batched[i + 3], batched[i + 4] = key, ARGV[first], revKey, rev
    batchedDocs[#batchedDocs + 1] = d
    current[revKey] = rev
    results[d] = 1
  else
    local ok, err = pcall(write, key, revKey, rev, first, n, ix)
    if ok then
      current[revKey] = rev
      results[d] = 1
    else
      results[d] = message(err)
    end
  end
end
if #batched > 0 then
  local ok, err = pcall(redis.call, 'MSET', unpack(batched))
  if not ok then
    for _, d in ipairs(batchedDocs) do results[d] = message(err) end
  end
end
return results
`

// chunkDocs caps the docs of one script call: enough to spread the cost of
// the call, few enough that Redis, which runs one script at a time, does not
// keep other clients waiting long.
const chunkDocs = 100

// header is what the docs of one script call share.
type header struct {
	op          string // json | hash | rejson | del
	ttl, revTTL int64  // in ms; 0: none
	indexed     bool   // the docs carry index entries and a membership key
}

// op is one doc's part of a script call.
type op struct {
	index int      // in the batch
	keys  []string // doc key, rev key[, membership key]
	head  header
	args  []any // rev, then the value, then the index entries (see writeScript)
}

// chunk is one script call in the pipeline.
type chunk struct {
	ops  []*op
	keys []string
	args []any
	cmd  *redis.Cmd
}

// Write applies a batch in one pipelined round trip, each doc guarded by
// its rev. It returns nil, a *sinks.BatchError naming the docs that could
// not be written (unknown view, unresolvable key, a value Redis refused),
// or a plain error when the batch as a whole failed (connection, server
// loading or read-only); docs applied before such an error stay applied,
// which a retry repeats harmlessly.
func (s *Sink) Write(ctx context.Context, docs []sinks.Doc) error {
	failed := map[int]error{}
	ops := make([]*op, 0, len(docs))
	var refused []*op // refused here, each with its key known
	var enc encoder
	for i := range docs {
		o, err := s.prepare(&enc, &docs[i])
		if err != nil {
			failed[i] = sinks.Refused(err) // worked out here, the same every time
			if o != nil {
				o.index = i
				refused = append(refused, o)
			}
			continue
		}
		o.index = i
		ops = append(ops, o)
	}
	chunks := s.chunks(ops)
	retry, err := s.run(ctx, chunks, failed, false)
	if err == nil && len(retry) > 0 {
		// The server lost the script (restart, SCRIPT FLUSH, a new cluster
		// node): EVAL loads it again.
		_, err = s.run(ctx, retry, failed, true)
	}
	if err == nil {
		err = s.dropStale(ctx, refused, docs, failed)
	}
	if err != nil {
		return fmt.Errorf("redis sink: write %d docs: %w", len(ops), err)
	}
	if len(failed) > 0 {
		return &sinks.BatchError{Failed: failed}
	}
	return nil
}

// chunks groups ops into script calls of one header each. A script may
// only touch keys that live together: one hash slot on a cluster, one doc
// on a Ring (whose sharding is not visible from here), anything on a single
// server. Grouping reorders docs, which the rev guard makes harmless: the
// highest rev wins in any order.
func (s *Sink) chunks(ops []*op) []*chunk {
	type group struct {
		slot int
		head header
	}
	_, cluster := s.client.(*redis.ClusterClient)
	_, ring := s.client.(*redis.Ring)
	index := map[group]int{}
	var groups [][]*op
	for _, o := range ops {
		if ring {
			groups = append(groups, []*op{o})
			continue
		}
		g := group{head: o.head}
		if cluster {
			g.slot = slot(o.keys[0])
		}
		i, ok := index[g]
		if !ok {
			i = len(groups)
			index[g] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], o)
	}
	var chunks []*chunk
	for _, g := range groups {
		for len(g) > 0 {
			n := min(len(g), chunkDocs)
			h := g[0].head
			c := &chunk{ops: g[:n], keys: make([]string, 0, len(g[0].keys)*n), args: make([]any, 0, 4+n*len(g[0].args))}
			ix := "0"
			if h.indexed {
				ix = "1"
			}
			c.args = append(c.args, h.op, h.ttl, h.revTTL, ix)
			for _, o := range g[:n] {
				c.keys = append(c.keys, o.keys...)
				c.args = append(c.args, o.args...)
			}
			chunks = append(chunks, c)
			g = g[n:]
		}
	}
	return chunks
}

// run pipelines the chunks and sorts out the results: stale docs are
// counted, docs Redis refused go to failed, chunks that met NOSCRIPT are
// returned for another run with EVAL.
func (s *Sink) run(ctx context.Context, chunks []*chunk, failed map[int]error, eval bool) ([]*chunk, error) {
	if len(chunks) == 0 {
		return nil, nil
	}
	pipe := s.client.Pipeline()
	for _, c := range chunks {
		if eval {
			c.cmd = s.script.Eval(ctx, pipe, c.keys, c.args...)
		} else {
			c.cmd = s.script.EvalSha(ctx, pipe, c.keys, c.args...)
		}
	}
	_, _ = pipe.Exec(ctx) // every command carries its own error
	var retry []*chunk
	for _, c := range chunks {
		results, err := c.cmd.Slice()
		switch {
		case err == nil && len(results) == len(c.ops):
		case err == nil:
			return nil, fmt.Errorf("script returned %d results for %d docs", len(results), len(c.ops))
		case redis.HasErrorPrefix(err, "NOSCRIPT"):
			retry = append(retry, c)
			continue
		case s.singleOnCluster(err):
			return nil, fmt.Errorf("%w: %w", ErrCluster, err)
		case docError(err):
			for _, o := range c.ops {
				failed[o.index] = fmt.Errorf("key %q: %w", o.keys[0], err)
			}
			continue
		default:
			return nil, err
		}
		for i, res := range results {
			switch r := res.(type) {
			case int64:
				if r == 0 {
					s.stale.Add(1)
				}
			case string:
				err := scriptError(r)
				if !docError(err) {
					return nil, err
				}
				failed[c.ops[i].index] = fmt.Errorf("key %q: %w", c.ops[i].keys[0], err)
			default:
				return nil, fmt.Errorf("script returned %T for a doc", res)
			}
		}
	}
	return retry, nil
}

// dropStale takes out of failed the docs refused before the script ran
// whose rev is not newer than the stored one: such a doc is stale, as the
// script would have found, not refused. A newer version was written, and
// reporting the old one refused would send a doc that never mattered to the
// dead-letter topic. Refusals are rare, so one GET each is cheap; GETs,
// unlike MGET, work across the slots of a cluster.
func (s *Sink) dropStale(ctx context.Context, refused []*op, docs []sinks.Doc, failed map[int]error) error {
	if len(refused) == 0 {
		return nil
	}
	pipe := s.client.Pipeline()
	gets := make([]*redis.StringCmd, len(refused))
	for i, o := range refused {
		gets[i] = pipe.Get(ctx, o.keys[1])
	}
	_, _ = pipe.Exec(ctx) // every command carries its own error
	for i, o := range refused {
		stored, err := gets[i].Result()
		if errors.Is(err, redis.Nil) || redis.HasErrorPrefix(err, "WRONGTYPE") {
			continue // absent, as the script reads it
		}
		if err != nil {
			return err
		}
		rev, err := strconv.ParseInt(stored, 10, 64)
		if err == nil && rev >= docs[o.index].Rev {
			delete(failed, o.index)
			s.stale.Add(1)
		}
	}
	return nil
}

// scriptError is a Redis error message the script reported for one doc.
type scriptError string

func (e scriptError) Error() string { return string(e) }

// RedisError marks scriptError as a redis.Error: it came from the server.
func (scriptError) RedisError() {}

// docError tells errors about one doc (WRONGTYPE on a rev key, an unknown
// command, a script error) from errors of the connection or of the server
// as a whole, which every other doc would meet too.
func docError(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && !serverState(rerr)
}

// singleOnCluster reports whether err is a cluster node's answer to a
// single-node client (one that could not ask what the server is): its
// chunks span slots (CROSSSLOT) or keys of another master (MOVED, ASK).
// Not the docs' fault: the batch fails as an outage, which ErrCluster
// says how to end (addr= seeds make a cluster client).
func (s *Sink) singleOnCluster(err error) bool {
	if _, single := s.client.(*redis.Client); !single {
		return false
	}
	return redis.HasErrorPrefix(err, "CROSSSLOT") || redis.HasErrorPrefix(err, "MOVED") || redis.HasErrorPrefix(err, "ASK")
}

// serverState reports whether a Redis error reply is about the server
// rather than the command: loading its data, a replica that lost its
// primary or is read-only, a busy script, out of memory, too few
// replicas (min-replicas-to-write) or a failed save (MISCONF), too many
// clients, credentials, cluster routing. A cluster that is down
// (CLUSTERDOWN: a master failed and no replica took over yet) or moving a
// slot (TRYAGAIN, MOVED and ASK past the client's redirects) is an outage,
// retried until it ends. CROSSSLOT is not: it is the command's keys, which
// no retry changes, so the docs are refused rather than retried forever.
func serverState(rerr redis.Error) bool {
	msg := strings.TrimPrefix(rerr.Error(), "ERR ")
	if strings.HasPrefix(msg, "max number of clients reached") || strings.Contains(msg, "cluster support disabled") {
		return true // the latter: a cluster client on a standalone server
	}
	for _, p := range []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY", "OOM", "NOREPLICAS", "MISCONF", "NOAUTH", "NOPERM", "WRONGPASS", "MOVED", "ASK"} {
		if strings.HasPrefix(msg, p+" ") || msg == p {
			return true
		}
	}
	return false
}

// Unavailable reports whether err is a Redis error reply saying the
// server cannot serve for now (LOADING after a restart, MASTERDOWN,
// BUSY, …): a reader should go elsewhere or try later, as for a server
// it cannot reach.
func Unavailable(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && serverState(rerr) && !strings.HasPrefix(rerr.Error(), "NOAUTH") &&
		!strings.HasPrefix(rerr.Error(), "WRONGPASS") && !strings.HasPrefix(rerr.Error(), "NOPERM")
}

// prepare resolves a doc's key and encodes its value as script arguments.
// A doc whose key resolves but whose value or index entries cannot be
// stored comes back with the error and its op, keys set, so that its rev
// can still be checked.
func (s *Sink) prepare(enc *encoder, d *sinks.Doc) (*op, error) {
	v := s.views[d.View]
	if v == nil {
		return nil, fmt.Errorf("view %q: %w", d.View, ErrUnknownView)
	}
	key, err := v.key.resolve(d.Key)
	if err != nil {
		return nil, fmt.Errorf("view %q doc %q: %w", d.View, d.ID, err)
	}
	if strings.HasPrefix(key, s.opts.RevKeyPrefix) || strings.HasPrefix(key, s.opts.MembershipKeyPrefix) {
		return nil, fmt.Errorf("view %q doc %q: %w: key %q is in a key space of projector's own (%q, %q)", d.View, d.ID, ErrKey, key, s.opts.RevKeyPrefix, s.opts.MembershipKeyPrefix)
	}
	o := &op{keys: []string{key, s.revKey(key)}}
	rev := strconv.FormatInt(d.Rev, 10)
	if d.Deleted {
		o.head = header{op: "del", revTTL: s.opts.TombstoneTTL.Milliseconds()}
		o.args = []any{rev}
		return s.withIndexes(o, v, d)
	}
	o.head = header{op: v.Format, ttl: v.TTL.Milliseconds()}
	if v.TTL > 0 { // without TTL a doc's rev lives as long as the doc
		o.head.revTTL = (v.TTL + s.opts.TombstoneTTL).Milliseconds()
	}
	if v.Format == FormatHash {
		o.args, err = enc.hash([]any{rev, 0}, v, d.Fields)
		if err == nil {
			o.args[1] = len(o.args) - 2 // how many values follow
		}
	} else {
		var doc string
		doc, err = enc.json(v, d.Fields)
		o.args = []any{rev, doc}
	}
	if err != nil {
		return o, fmt.Errorf("view %q doc %q: %w: %w", d.View, d.ID, ErrBadValue, err)
	}
	if n, max := longestArg(o.args), s.maxBulk.Load(); n > max {
		// Redis refuses the whole call and drops the connection: every
		// doc beside this one would fail with it, on every retry.
		return o, fmt.Errorf("view %q doc %q: %w: a value of %d bytes, over the server's proto-max-bulk-len (%d)", d.View, d.ID, ErrBadValue, n, max)
	}
	return s.withIndexes(o, v, d)
}

// longestArg is the length of the longest string argument.
func longestArg(args []any) int64 {
	var n int64
	for _, a := range args {
		if s, ok := a.(string); ok {
			n = max(n, int64(len(s)))
		}
	}
	return n
}

// withIndexes adds the doc's index entries to an op of a view with
// indexes: its membership key, its id as the member, and the sorted sets
// it belongs in (none for a delete: it leaves them all).
func (s *Sink) withIndexes(o *op, v *view, d *sinks.Doc) (*op, error) {
	if len(v.indexes) == 0 {
		return o, nil
	}
	var entries []entry
	if !d.Deleted {
		var err error
		if entries, err = s.entries(v, d.Fields); err != nil {
			return o, fmt.Errorf("view %q doc %q: %w", d.View, d.ID, err)
		}
	}
	if _, cluster := s.client.(*redis.ClusterClient); cluster {
		entries = v.inSlot(o.keys[0], entries)
	}
	o.head.indexed = true
	o.keys = append(o.keys, s.membershipKey(o.keys[0]))
	o.args = append(o.args, d.ID, len(entries))
	for _, e := range entries {
		o.args = append(o.args, e.key, e.score)
	}
	return o, nil
}
