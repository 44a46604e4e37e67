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
// is in schema of the query PostgreSQL's database.
func MarkerKey(database, schema, view string) string {
	return "projector:marker:{" + database + "." + schema + "}:" + view
}

// markerSlots is how many slots of a Redis Cluster, spread evenly, hold a
// copy of each marker. One key lives on one master, and a master that
// comes back without its data (a failover to a replica that had none, a
// restart without persistence) takes only its own slots' documents: so
// every master needs a copy. Copies in every 256th slot give one to each
// master of a cluster of up to 64 whose slots are contiguous ranges, as
// resharding makes them; the copies move with their slots.
const markerSlots = 64

// markerKeys are the keys of view's marker on rdb: MarkerKey, and on a
// Redis Cluster its copies (see markerSlots).
func markerKeys(rdb goredis.UniversalClient, database, schema, view string) []string {
	keys := []string{MarkerKey(database, schema, view)}
	if _, cluster := rdb.(*goredis.ClusterClient); cluster {
		for i := range markerSlots {
			tag := redisconn.SlotTag(i * (redisconn.Slots / markerSlots))
			keys = append(keys, "projector:marker:{"+tag+"}:"+database+"."+schema+":"+view)
		}
	}
	return keys
}

// SetMarker sets view's marker on rdb (see markerKeys).
func SetMarker(ctx context.Context, rdb goredis.UniversalClient, database, schema, view string) error {
	return setKeys(ctx, rdb, markerKeys(rdb, database, schema, view))
}

// setKeys sets keys to "1", pipelined: a cluster's keys are in several
// slots, which one MSET may not span.
func setKeys(ctx context.Context, rdb goredis.UniversalClient, keys []string) error {
	_, err := rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, k := range keys {
			p.Set(ctx, k, "1", 0)
		}
		return nil
	})
	return err
}

// redisMarkers sorts the Redis views of plan by what the registry recorded
// before this start (recorded, view → definition): a view deployed to
// Redis whose marker was set has it to look for; one deployed now, or
// whose marker Redis never took (it did not answer before the daemon
// stopped), gets one set. A view whose recorded definition had no Redis
// sink gets neither until a rebuild fills its Redis store.
func redisMarkers(plan *projections.Plan, recorded map[string]registry.Definition) (check, set []string) {
	for _, v := range RedisViews(plan) {
		rec, ok := recorded[v.Name]
		if !ok {
			set = append(set, v.Name)
			continue
		}
		if d, err := definition.Parse(rec.JSON); err == nil && d.Sinks.Redis != nil {
			if rec.RedisMarked {
				check = append(check, v.Name)
			} else {
				set = append(set, v.Name)
			}
		}
	}
	return check, set
}

// markerPing is the Redis probe with markers: PING, then the markers of the
// views to set (once Redis answers), noted in the registry by note, then
// every view's marker looked for.
//
// A marker whose first key (MarkerKey) is there but none of whose cluster
// copies are was set by an earlier version, or on a standalone Redis whose
// data moved to a cluster: its copies are set then. Had the master holding
// the first key lost its data, that key would be gone too.
func markerPing(rdb goredis.UniversalClient, database, schema string, check, set []string, note func(context.Context, []string) error) func(context.Context) error {
	check = slices.Concat(check, set)
	var mu sync.Mutex // set is consumed once
	return func(ctx context.Context) error {
		if err := redisconn.Ping(ctx, rdb); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for len(set) > 0 {
			if err := SetMarker(ctx, rdb, database, schema, set[0]); err != nil {
				return err
			}
			if err := note(ctx, set[:1]); err != nil {
				return err
			}
			set = set[1:]
		}
		if len(check) == 0 {
			return nil
		}
		keys := make([][]string, len(check))
		found := make([][]*goredis.IntCmd, len(check))
		if _, err := rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, v := range check {
				keys[i] = markerKeys(rdb, database, schema, v)
				for _, k := range keys[i] {
					found[i] = append(found[i], p.Exists(ctx, k))
				}
			}
			return nil
		}); err != nil {
			return err
		}
		var gone []string
		for i, v := range check {
			copies := 0
			for _, c := range found[i][1:] {
				copies += int(c.Val())
			}
			switch first := found[i][0].Val() == 1; {
			case first && copies == len(keys[i])-1:
			case first && copies == 0:
				if err := setKeys(ctx, rdb, keys[i][1:]); err != nil {
					return err
				}
			default:
				gone = append(gone, v)
			}
		}
		if len(gone) == 0 {
			return nil
		}
		return fmt.Errorf("redis lost the documents of %s (their marker key is gone: restarted without persistence, or flushed?): "+
			"documents no change touches are missing until projector rebuild VIEW --sinks redis", strings.Join(gone, ", "))
	}
}
