package query

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/fieldvalue"
	goredis "github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"
)

// maxIDBytes bounds each value of a document id from a request: the
// engine indexes no key or group_by value longer (projector/decode.go
// maxIndexedText), so no doc has an id value over it.
const maxIDBytes = 2048

// maxCompositeIDBytes bounds a composite id of n values before it is
// decoded: n JSON strings of maxIDBytes each, every byte escaped as six
// (\u0001), with their quotes and separators, in brackets.
func maxCompositeIDBytes(n int) int { return n*(6*maxIDBytes+3) + 1 }

// parseID splits a canonical document id into the values of the view's id
// fields: for one id field the id is that value's text; for several it is
// a JSON array of their texts in the view's id order, ["42","2024-05-01"]
// (numbers are accepted unquoted too). Each value is checked against its
// field's type; integers are normalised ("007" is 7), other values are
// kept as given, since the Redis key holds them as written. Each value is
// bounded by maxIDBytes on its own, as the engine bounds it. A timestamp
// or time finer than a microsecond is the id of no doc (404).
func parseID(v *view, id string) ([]string, error) {
	var parts []string
	if len(v.ID) == 1 {
		parts = []string{id}
	} else {
		if len(id) > maxCompositeIDBytes(len(v.ID)) {
			return nil, badRequest("bad_id", "id", "id longer than %d bytes: view %s's id is %d values of at most %d bytes each",
				maxCompositeIDBytes(len(v.ID)), v.Name, len(v.ID), maxIDBytes)
		}
		var raw []json.RawMessage
		dec := json.NewDecoder(strings.NewReader(id))
		if err := dec.Decode(&raw); err != nil || dec.More() || len(raw) != len(v.ID) {
			return nil, badRequest("bad_id", "id", "view %s has a composite id: a JSON array of %d values (%s)", v.Name, len(v.ID), idNames(v))
		}
		for _, r := range raw {
			var s string
			if err := json.Unmarshal(r, &s); err != nil {
				var n json.Number
				if err := json.Unmarshal(r, &n); err != nil {
					return nil, badRequest("bad_id", "id", "composite id elements must be strings or numbers")
				}
				s = n.String()
			}
			parts = append(parts, s)
		}
	}
	for i, f := range v.ID {
		if len(parts[i]) > maxIDBytes {
			return nil, badRequest("bad_id", "id", "id field %s: value longer than %d bytes", f.Name, maxIDBytes)
		}
		canon, err := fieldvalue.Parse(f.Type, parts[i])
		if err != nil {
			return nil, badRequest("bad_id", "id", "id field %s: %q: %v", f.Name, echo(parts[i]), err)
		}
		if _, _, finer := fieldvalue.MicrosecondsAround(f.Type, canon, parts[i]); finer {
			// No store holds a time finer than a microsecond: rounded (the
			// canonical text of a time, PostgreSQL's cast of a timestamp),
			// it would name another doc.
			return nil, notFound("view %s has no doc %q", v.Name, echo(id))
		}
		parts[i] = keyText(f.Type, parts[i], canon)
	}
	return parts, nil
}

// keyText is an id value as the engine writes it into a Redis key, which
// only matches that text: canonical (true for t or yes, a UUID in lower
// case, a time in UTC), a decimal at its column's scale (12.50 for 12.5),
// but what the engine keeps as it came (text, a decimal of no declared
// scale, a float) as typed.
func keyText(t config.Type, typed, canon string) string {
	switch t.Name {
	case "text", "varchar", "real", "double precision":
		return typed
	case "numeric":
		d, err := decimal.NewFromString(canon)
		if err != nil || t.Scale < 0 || -d.Exponent() > int32(t.Scale) {
			return typed // no doc holds more digits than its scale
		}
		return d.StringFixed(int32(t.Scale))
	}
	return canon
}

func isInteger(f *field) bool {
	switch f.Type.Name {
	case "smallint", "integer", "bigint":
		return true
	}
	return false
}

func idNames(v *view) string {
	names := make([]string, len(v.ID))
	for i, f := range v.ID {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// Get returns one document: from Redis when the view has a Redis sink
// holding whole documents, else (or when Redis has no such key, e.g. after
// its TTL, or cannot be reached) from the PostgreSQL reader view. A Redis
// sink that keeps some fields only (fields:) answers only when the view
// has no PostgreSQL sink: a document reads the same whichever store holds
// it whole. A missing document is an *Error wrapping ErrNotFound.
func (s *Server) Get(ctx context.Context, viewName, id string) (json.RawMessage, error) {
	req, err := s.prepareGet(viewName, id)
	if err != nil {
		return nil, err
	}
	return s.get(ctx, req)
}

// getRequest is a get checked against its view, ready to read: what the
// request says is wrong is found before any read-your-writes wait.
type getRequest struct {
	v    *view
	id   string   // as given, for messages
	vals []string // parseID's
}

func (s *Server) prepareGet(viewName, id string) (*getRequest, error) {
	v, err := s.view(viewName)
	if err != nil {
		return nil, err
	}
	vals, err := parseID(v, id)
	if err != nil {
		return nil, err
	}
	return &getRequest{v: v, id: id, vals: vals}, nil
}

// get reads a prepared get's doc (see Get).
func (s *Server) get(ctx context.Context, req *getRequest) (json.RawMessage, error) {
	v, id, vals := req.v, req.id, req.vals
	if v.Redis != nil && s.redis != nil && (v.PG == nil || v.Redis.whole(v)) {
		doc, err := s.getRedisFirst(ctx, v, vals)
		switch {
		case doc != nil:
			return doc, nil
		case err == nil && v.PG == nil:
			return nil, notFound("view %s has no doc %q", v.Name, echo(id))
		case err != nil && (v.PG == nil || ctx.Err() != nil || !redisDown(err)):
			return nil, err
		case err != nil:
			// Logged here, not returned: the answer comes from PostgreSQL.
			s.log.Warn("redis unavailable: reading the doc from postgres", "view", v.Name, "err", err)
		}
	}
	if v.PG == nil {
		return nil, notFound("view %s has no store to read docs from (its sinks' stores are not configured)", v.Name)
	}
	args := make([]any, len(vals))
	for i, val := range vals {
		args[i] = val
	}
	var doc []byte
	if err := s.pool.QueryRow(ctx, v.PG.Get, args...).Scan(&doc); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, notFound("view %s has no doc %q", v.Name, echo(id))
		}
		if e := undeployed(v, err); e != nil {
			return nil, e
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "22") {
			// A value Go reads and PostgreSQL does not (year 0): no doc
			// can have that id.
			return nil, badRequest("bad_id", "id", "id %q: %s", echo(id), pgErr.Message)
		}
		return nil, fmt.Errorf("get %s: %w", v.Name, err)
	}
	return pgDoc(v, doc)
}

// getRedisFirst is getRedis when PostgreSQL can answer instead: Redis
// then gets at most half of the time the request has left, so that a
// Redis that does not answer at all (a host gone, not a refused
// connection) leaves the fallback time to run.
func (s *Server) getRedisFirst(ctx context.Context, v *view, vals []string) (json.RawMessage, error) {
	if deadline, ok := ctx.Deadline(); ok && v.PG != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Until(deadline)/2)
		defer cancel()
	}
	return s.getRedis(ctx, v, vals)
}

// redisDown tells a Redis that cannot be reached, or did not answer within
// its share of the request's time, from an error of the read itself.
func redisDown(err error) bool {
	return storeUnavailable(err) || errors.Is(err, context.DeadlineExceeded)
}

// getRedis reads the doc at the view's key; nil without error when the key
// does not exist or holds a doc of another id (see sameID).
func (s *Server) getRedis(ctx context.Context, v *view, vals []string) (json.RawMessage, error) {
	key := make(map[string]any, len(v.ID))
	for i, f := range v.ID {
		key[f.Name] = vals[i]
	}
	k, err := s.redisKeys.Key(v.Name, key)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", v.Name, err)
	}
	rdb := s.redis.client(ctx)
	if v.Redis.Format == "hash" {
		m, err := rdb.HGetAll(ctx, k).Result()
		if err != nil {
			return nil, redisMiss(v, err)
		}
		if len(m) == 0 {
			return nil, nil
		}
		doc := fromHash(v, m)
		if !sameID(v, doc, vals) {
			return nil, nil
		}
		normalize(v.Fields, doc)
		for i, f := range v.ID {
			if _, present := doc[f.Name]; !present {
				doc[f.Name] = idJSON(f, vals[i]) // left out by the sink's fields
			}
		}
		return marshal(doc)
	}
	var raw string
	if v.Redis.Format == "rejson" {
		raw, err = rdb.Do(ctx, "JSON.GET", k, ".").Text()
	} else {
		raw, err = rdb.Get(ctx, k).Result()
	}
	if err != nil {
		return nil, redisMiss(v, err)
	}
	doc, ok := rawDoc(v, []byte(raw), vals)
	if !ok {
		return nil, nil // not a doc of this view
	}
	return doc, nil
}

// normalize gives numbers the JSON type PostgreSQL gives them, the one the
// OpenAPI schema says: the engine keeps numeric values as strings of their
// exact digits ("12.50", ["1.50","2.00"]), and Redis and Elasticsearch
// store the doc as the engine made it; a client should not get "12.50"
// from one endpoint and 12.50 from another. Fields of embedded objects and
// arrays of them are normalized too; a string that is not a number (a
// numeric's "NaN") stays a string.
func normalize(fields []*field, doc map[string]any) {
	for _, f := range fields {
		switch x := doc[f.Name].(type) {
		case string:
			if isNumber(f) && !f.Type.Array && isJSONNumber(x) {
				doc[f.Name] = json.Number(x)
			}
		case map[string]any:
			normalize(f.Object, x)
		case []any:
			numbers := isNumber(f) && f.Type.Array
			for i, item := range x {
				switch it := item.(type) {
				case string:
					if numbers && isJSONNumber(it) {
						x[i] = json.Number(it)
					}
				case map[string]any:
					normalize(f.Items, it)
				}
			}
		}
	}
}

// isJSONNumber reports whether s is exactly one JSON number.
func isJSONNumber(s string) bool {
	return s != "" && (s[0] == '-' || s[0] >= '0' && s[0] <= '9') && json.Valid([]byte(s))
}

// redisMiss turns "no such key" and "key of another type" into a miss: a
// key of another type belongs to something else.
func redisMiss(v *view, err error) error {
	if errors.Is(err, goredis.Nil) || strings.HasPrefix(err.Error(), "WRONGTYPE") {
		return nil
	}
	return fmt.Errorf("get %s: redis: %w", v.Name, err)
}

// sameID checks that a doc read from a key is the one asked for. Key
// templates do not always separate their values ("user:{id}" with the id
// "42:stats" is the key of another view's "user:{user_id}:stats"), so a doc
// whose id fields are present must carry the requested values.
func sameID(v *view, doc map[string]any, vals []string) bool {
	for i, f := range v.ID {
		got, ok := doc[f.Name]
		if !ok || got == nil {
			continue // the Redis sink's fields left it out
		}
		text := fmt.Sprint(got)
		if isInteger(f) {
			if c, err := fieldvalue.Parse(f.Type, text); err == nil {
				text = c
			}
		}
		if text != vals[i] {
			return false
		}
	}
	return true
}

// fromHash rebuilds a doc from a hash: the Redis sink writes numbers as
// their digits, booleans as true/false, nested values as JSON text and
// json/jsonb values as JSON text whatever they hold (a string quoted), so
// each declared field gets its JSON type back; anything else stays text. A
// json/jsonb value that is not JSON text was written raw by an older sink:
// it is that string. The sink leaves null fields out: every field it
// writes (the sink's fields, or all of the view's) that the hash lacks is
// null, as the other stores give it.
func fromHash(v *view, m map[string]string) map[string]any {
	doc := make(map[string]any, max(len(m), len(v.Fields)))
	for k, s := range m {
		f := v.field(k)
		if f == nil {
			doc[k] = s
			continue
		}
		switch {
		case f.Object != nil || f.Array || f.Type.Array || f.Type.Name == "jsonb" || f.Type.Name == "json":
			doc[k] = s
			if !json.Valid([]byte(s)) {
				continue
			}
			dec := json.NewDecoder(strings.NewReader(s))
			dec.UseNumber()
			var x any
			if dec.Decode(&x) == nil {
				doc[k] = x
			}
		case f.Type.Name == "boolean":
			doc[k] = s == "true"
		case isNumber(f) && isJSONNumber(s):
			doc[k] = json.Number(s)
		default:
			doc[k] = s
		}
	}
	if v.Redis != nil && len(v.Redis.Fields) > 0 {
		for _, name := range v.Redis.Fields {
			if _, ok := doc[name]; !ok {
				doc[name] = nil
			}
		}
	} else {
		for _, f := range v.Fields {
			if _, ok := doc[f.Name]; !ok {
				doc[f.Name] = nil
			}
		}
	}
	return doc
}

// idJSON is an id field's canonical text as the document's JSON holds it:
// a number or boolean bare, anything else a string.
func idJSON(f *field, text string) json.RawMessage {
	if (isNumber(f) || f.Type.Name == "boolean") && json.Valid([]byte(text)) {
		return json.RawMessage(text)
	}
	b, _ := json.Marshal(text)
	return b
}

func isNumber(f *field) bool {
	switch f.Type.Name {
	case "smallint", "integer", "bigint", "numeric", "real", "double precision":
		return true
	}
	return false
}

func marshal(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
