package query

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/projector"
)

// ViewInfo describes a view in GET /v1/views.
type ViewInfo struct {
	Name       string       `json:"name"`
	ID         []string     `json:"id"`
	Fields     []FieldInfo  `json:"fields"`
	Sinks      SinksInfo    `json:"sinks"`
	Generation int          `json:"generation"`
	Sources    []string     `json:"sources"`
	Lag        *LagInfo     `json:"lag,omitempty"`
	Refresh    *RefreshInfo `json:"refresh,omitempty"`
	Endpoints  EndpointInfo `json:"endpoints"`
}

// RefreshInfo is the refresh of a view whose expressions read the clock:
// how often, when the last one claimed started, and when the next is due
// (the times absent before the first).
type RefreshInfo struct {
	Every       string     `json:"every"`
	LastStarted *time.Time `json:"last_started,omitempty"`
	NextDue     *time.Time `json:"next_due,omitempty"`
	// Running: an instance holds the refresh now (NextDue is past then).
	Running bool `json:"running"`
}

// FieldInfo is a field with its type; Fields are an embedded object's.
type FieldInfo struct {
	Name     string      `json:"name"`
	Type     string      `json:"type"`
	Filter   bool        `json:"filter"` // usable in filters (and sort, at top level)
	Fields   []FieldInfo `json:"fields,omitempty"`
	Array    bool        `json:"array,omitempty"`
	Nullable bool        `json:"nullable"`
}

// SinksInfo names where a view is stored; a nil sink is absent or its
// store is not configured.
type SinksInfo struct {
	Postgres      *PostgresInfo `json:"postgres,omitempty"`
	Redis         *RedisInfo    `json:"redis,omitempty"`
	Elasticsearch *ESInfo       `json:"elasticsearch,omitempty"`
}

// PostgresInfo is the reader view of a view.
type PostgresInfo struct {
	Table string `json:"table"`
}

// RedisInfo is a view's key template and format.
type RedisInfo struct {
	Key    string `json:"key"`
	Format string `json:"format"`
}

// ESInfo is a view's alias.
type ESInfo struct {
	Index string `json:"index"`
}

// LagInfo is how many records of the view's sources are not projected yet.
type LagInfo struct {
	Records int64            `json:"records"`
	Sources map[string]int64 `json:"sources"`
}

// EndpointInfo lists what can be asked of a view.
type EndpointInfo struct {
	Get    bool `json:"get"`
	List   bool `json:"list"`
	Search bool `json:"search"`
}

// Views describes the views allowed reports true for, in configuration
// order; lag is filled in when Kafka answers.
func (s *Server) Views(ctx context.Context, allowed func(string) bool) []ViewInfo {
	lag, err := s.sourceLag(ctx)
	if err != nil {
		lag = nil // omitted: Kafka is not reachable
	}
	active := s.activeGenerations(ctx)
	refreshes := s.viewRefreshes(ctx)
	var out []ViewInfo
	for _, pv := range s.plan.Views {
		v := s.views[pv.Name]
		if allowed != nil && !allowed(v.Name) {
			continue
		}
		info := ViewInfo{Name: v.Name, Generation: max(active[v.Name], 1), Sources: v.Sources, ID: []string{}}
		for _, f := range v.ID {
			info.ID = append(info.ID, f.Name)
		}
		for _, f := range v.Fields {
			info.Fields = append(info.Fields, fieldInfo(f, slices.Contains(info.ID, f.Name)))
		}
		if v.PG != nil {
			info.Sinks.Postgres = &PostgresInfo{Table: v.PG.Reader.Sanitize()}
		}
		if v.Redis != nil {
			info.Sinks.Redis = &RedisInfo{Key: v.Redis.Key, Format: v.Redis.Format}
		}
		if v.ES != nil {
			info.Sinks.Elasticsearch = &ESInfo{Index: v.ES.Alias}
		}
		info.Endpoints = EndpointInfo{Get: v.PG != nil || (v.Redis != nil && s.redis != nil), List: v.PG != nil, Search: v.ES != nil && s.es != nil}
		if pv.Refresh > 0 {
			info.Refresh = &RefreshInfo{Every: pv.Refresh.String()}
			if r, ok := refreshes[v.Name]; ok {
				info.Refresh.LastStarted, info.Refresh.NextDue, info.Refresh.Running = &r.started, &r.due, r.running
			}
		}
		if lag != nil {
			l := &LagInfo{Sources: map[string]int64{}}
			for _, src := range v.Sources {
				l.Sources[src] = lag[src]
				l.Records += lag[src]
			}
			info.Lag = l
		}
		out = append(out, info)
	}
	return out
}

func fieldInfo(f *field, id bool) FieldInfo {
	fi := FieldInfo{Name: f.Name, Type: typeName(f), Filter: f.scalar(), Array: f.Array, Nullable: !id}
	if f.Array {
		fi.Type = "array"
	}
	for _, c := range slices.Concat(f.Object, f.Items) {
		fi.Fields = append(fi.Fields, fieldInfo(c, false))
	}
	return fi
}

// watermarks reads a source's watermarks ("" for all). Before the engine
// first ran there is no table: that is no watermark, not an error.
func (s *Server) watermarks(ctx context.Context, source string) ([]projector.Watermark, error) {
	marks, err := projector.ReadWatermarks(ctx, s.pool, s.schema, source)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "3F000") { // undefined table, schema
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("watermarks: %w", err)
	}
	return marks, nil
}

func readAllWatermarks(ctx context.Context, s *Server) (map[partitionKey]int64, error) {
	marks, err := s.watermarks(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make(map[partitionKey]int64, len(marks))
	for _, w := range marks {
		out[partitionKey{w.Topic, w.Partition}] = w.Offset
	}
	return out, nil
}

// activeGenerations is the generation readers see of each view rebuilt at
// least once (a view never rebuilt has generation 1), from the rebuild
// registry. Every store's reader name (the PostgreSQL view, the
// Elasticsearch alias, the Redis keys) always shows the active one, so
// reads do not depend on it: it is reported for operators, and left at 1
// when the registry cannot be read.
type refreshTimes struct {
	started, due time.Time
	running      bool
}

// viewRefreshes reads when each view's refresh last started and is next due
// (projector.refreshes); nothing when it cannot be read (no refresh ran
// yet, or the daemons are of a version without it).
func (s *Server) viewRefreshes(ctx context.Context) map[string]refreshTimes {
	// held_until is read through to_jsonb: daemons of an earlier version
	// created the table without it.
	rows, err := s.pool.Query(ctx, `SELECT view, started_at, due_at, coalesce((to_jsonb(r)->>'held_until')::timestamptz > now(), false)
		FROM `+pgx.Identifier{s.schema, "refreshes"}.Sanitize()+` r`)
	if err != nil {
		return nil
	}
	out := map[string]refreshTimes{}
	for rows.Next() {
		var view string
		var r refreshTimes
		if rows.Scan(&view, &r.started, &r.due, &r.running) == nil {
			r.started, r.due = r.started.UTC(), r.due.UTC()
			out[view] = r
		}
	}
	rows.Close()
	return out
}

func (s *Server) activeGenerations(ctx context.Context) map[string]int {
	snap, err := registry.New(s.pool, s.schema).Snapshot(ctx)
	if err != nil {
		return nil
	}
	out := map[string]int{}
	for _, g := range snap.Generations {
		if g.State == registry.Active {
			out[g.View] = g.Number
		}
	}
	return out
}
