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
// writes the common case, JSON docs without TTL, with one MSET; other docs
// are written one by one.
//
//	KEYS[2d-1], KEYS[2d]  doc d's key and rev key
//	ARGV[1..3]            what the docs share: op (json | hash | rejson |
//	                      del), doc TTL and rev key TTL in ms (0: none)
//	ARGV[4..], per doc    rev, then for json and rejson the JSON doc, for
//	                      hash n and n values field, value, …
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

local op, ttl, revTTL = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])

-- write stores one doc whose rev is known to be newer.
local function write(key, revKey, rev, first, n)
  if op == 'json' then
    redis.call('SET', key, ARGV[first], 'PX', ttl)
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
  if revTTL > 0 then redis.call('SET', revKey, rev, 'PX', revTTL) else redis.call('SET', revKey, rev) end
end

local docs = #KEYS / 2
local revKeys = {}
for d = 1, docs do revKeys[d] = KEYS[2 * d] end
local stored = redis.call('MGET', unpack(revKeys))
local current = {} -- rev key → rev, as the docs before this one left it
for d = 1, docs do
  if current[revKeys[d]] == nil then current[revKeys[d]] = stored[d] end
end

local batch = op == 'json' and ttl == 0 and revTTL == 0
local results, batched, batchedDocs = {}, {}, {}
local a = 4
for d = 1, docs do
  local key, revKey, rev = KEYS[2 * d - 1], revKeys[d], ARGV[a]
  local first, n = a + 1, 1
  if op == 'hash' then
    first, n = a + 2, tonumber(ARGV[a + 1])
  elseif op == 'del' then
    n = 0
  end
  a = first + n
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
    local ok, err = pcall(write, key, revKey, rev, first, n)
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
}

// op is one doc's part of a script call.
type op struct {
	index int // in the batch
	keys  [2]string
	head  header
	args  []any // rev, then the value (see writeScript)
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
	var enc encoder
	for i := range docs {
		o, err := s.prepare(&enc, &docs[i])
		if err != nil {
			failed[i] = err
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
			c := &chunk{ops: g[:n], keys: make([]string, 0, 2*n), args: make([]any, 0, 3+n*len(g[0].args))}
			c.args = append(c.args, h.op, h.ttl, h.revTTL)
			for _, o := range g[:n] {
				c.keys = append(c.keys, o.keys[0], o.keys[1])
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
	if !errors.As(err, &rerr) {
		return false
	}
	msg := strings.TrimPrefix(rerr.Error(), "ERR ")
	for _, p := range []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY", "OOM", "NOAUTH", "NOPERM", "WRONGPASS", "MOVED", "ASK", "CROSSSLOT"} {
		if strings.HasPrefix(msg, p+" ") || msg == p {
			return false
		}
	}
	return true
}

// prepare resolves a doc's key and encodes its value as script arguments.
func (s *Sink) prepare(enc *encoder, d *sinks.Doc) (*op, error) {
	v := s.views[d.View]
	if v == nil {
		return nil, fmt.Errorf("view %q: %w", d.View, ErrUnknownView)
	}
	key, err := v.key.resolve(d.Key)
	if err != nil {
		return nil, fmt.Errorf("view %q doc %q: %w", d.View, d.ID, err)
	}
	if strings.HasPrefix(key, s.opts.RevKeyPrefix) {
		return nil, fmt.Errorf("view %q doc %q: %w: key %q is in the rev key space %q", d.View, d.ID, ErrKey, key, s.opts.RevKeyPrefix)
	}
	o := &op{keys: [2]string{key, s.revKey(key)}}
	rev := strconv.FormatInt(d.Rev, 10)
	if d.Deleted {
		o.head = header{op: "del", revTTL: s.opts.TombstoneTTL.Milliseconds()}
		o.args = []any{rev}
		return o, nil
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
		return nil, fmt.Errorf("view %q doc %q: %w: %w", d.View, d.ID, ErrBadValue, err)
	}
	return o, nil
}
