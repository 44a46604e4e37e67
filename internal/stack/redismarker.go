package stack

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/definition"
	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/redisconn"
	"github.com/projectorhq/projector/projections"
)

// A Redis that comes back without its data (restarted without
// persistence, FLUSHDB) takes every document with it, and nothing a
// daemon writes afterwards says so: later changes land, untouched
// documents stay missing. So each view whose documents are in Redis has a
// marker key there, set when the view is first deployed to Redis (or a
// rebuild refilled it), which the Redis probe looks for: a marker gone is
// Redis having lost the view's documents, until a rebuild of the view's
// Redis store sets it again.

// MarkerKey is the marker of view in Redis, for the deployment whose state
// is in schema of the query PostgreSQL's database. The hash tag keeps a
// deployment's markers in one cluster slot, so one EXISTS looks for them
// all.
func MarkerKey(database, schema, view string) string {
	return "projector:marker:{" + database + "." + schema + "}:" + view
}

// redisMarkers sorts the Redis views of plan by what the registry recorded
// before this start (recorded, view → definition): a view deployed to
// Redis whose marker was set has it to look for; one deployed now, or
// whose marker Redis never took (it did not answer before the daemon
// stopped), gets one set. A view whose recorded definition had no Redis
// sink gets neither until a rebuild fills its Redis store.
func redisMarkers(database, schema string, plan *projections.Plan, recorded map[string]registry.Definition) (check, set []string) {
	for _, v := range RedisViews(plan) {
		rec, ok := recorded[v.Name]
		if !ok {
			set = append(set, MarkerKey(database, schema, v.Name))
			continue
		}
		if d, err := definition.Parse(rec.JSON); err == nil && d.Sinks.Redis != nil {
			if rec.RedisMarked {
				check = append(check, MarkerKey(database, schema, v.Name))
			} else {
				set = append(set, MarkerKey(database, schema, v.Name))
			}
		}
	}
	return check, set
}

// markerPing is the Redis probe with markers: PING, then the markers to set
// (once Redis answers), noted in the registry by note, then every marker
// looked for.
func markerPing(rdb goredis.UniversalClient, check, set []string, note func(context.Context, []string) error) func(context.Context) error {
	check = slices.Concat(check, set)
	var mu sync.Mutex // set is consumed once
	return func(ctx context.Context) error {
		if err := redisconn.Ping(ctx, rdb); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for len(set) > 0 {
			if err := rdb.Set(ctx, set[0], "1", 0).Err(); err != nil {
				return err
			}
			if err := note(ctx, []string{markerView(set[0])}); err != nil {
				return err
			}
			set = set[1:]
		}
		if len(check) == 0 {
			return nil
		}
		n, err := rdb.Exists(ctx, check...).Result()
		if err != nil || int(n) == len(check) {
			return err
		}
		var gone []string
		for _, k := range check {
			if m, err := rdb.Exists(ctx, k).Result(); err == nil && m == 0 {
				gone = append(gone, markerView(k))
			}
		}
		return fmt.Errorf("redis lost the documents of %s (their marker key is gone: restarted without persistence, or flushed?): "+
			"documents no change touches are missing until projector rebuild VIEW --sinks redis", strings.Join(gone, ", "))
	}
}

// markerView is the view a marker key is of (no view name holds a ':').
func markerView(key string) string { return key[strings.LastIndexByte(key, ':')+1:] }
