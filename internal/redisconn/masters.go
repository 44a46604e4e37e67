package redisconn

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// EachMaster calls fn with the client of every server that holds keys:
// each master of a cluster, at once, or the one server of a single-node
// client. It returns the first error.
func EachMaster(ctx context.Context, c redis.UniversalClient, fn func(ctx context.Context, node *redis.Client) error) error {
	switch c := c.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, fn)
	case *redis.Client:
		return fn(ctx, c)
	default:
		return fmt.Errorf("redis: a %T cannot be walked server by server", c)
	}
}

// Ping pings every master: a cluster with one master down cannot serve
// its slots, though any other node answers.
func Ping(ctx context.Context, c redis.UniversalClient) error {
	return EachMaster(ctx, c, func(ctx context.Context, node *redis.Client) error {
		if err := node.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("%s: %w", node.Options().Addr, err)
		}
		return nil
	})
}

// Scan calls fn with every key matching pattern, on every master: SCAN
// walks one server's keys only. fn is called with the master holding the
// key, from one goroutine per master at once.
func Scan(ctx context.Context, c redis.UniversalClient, pattern string, fn func(ctx context.Context, node *redis.Client, key string) error) error {
	return EachMaster(ctx, c, func(ctx context.Context, node *redis.Client) error {
		iter := node.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			if err := fn(ctx, node, iter.Val()); err != nil {
				return err
			}
		}
		return iter.Err()
	})
}
