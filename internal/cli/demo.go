package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/projectorhq/projector/internal/redisconn"
	"github.com/projectorhq/projector/internal/shop"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/projections"
)

type demoOptions struct {
	follow  bool
	seed    uint64
	users   int
	orders  int
	changes int
}

func newDemo(g *globals) *cobra.Command {
	o := demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the example shop on an embedded Kafka and the local PostgreSQL and Redis",
		Long: `demo starts an embedded Kafka (franz-go kfake, real wire protocol), fills it with
the example shop's Debezium messages (made by projector's own generator), runs
the configuration against PostgreSQL (database projector_demo, created afresh)
and Redis, and prints what a reader sees. With --follow it keeps changing the
shop and projecting until interrupted.

It needs PROJECTOR_POSTGRES_URL and PROJECTOR_REDIS_URL: 'make demo' starts
local servers and sets them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), g, o)
		},
	}
	cmd.Flags().BoolVar(&o.follow, "follow", false, "keep changing the shop and projecting until interrupted")
	cmd.Flags().Uint64Var(&o.seed, "seed", 1, "seed of the generated shop")
	cmd.Flags().IntVar(&o.users, "users", 200, "users in the snapshot")
	cmd.Flags().IntVar(&o.orders, "orders", 200, "orders in the snapshot")
	cmd.Flags().IntVar(&o.changes, "changes", 2000, "changes after the snapshot")
	return cmd
}

func runDemo(parent context.Context, g *globals, o demoOptions) error {
	fail := func(err error) error { return &exitError{code: ExitFailure, err: err} }
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1),
		kfake.SeedTopics(3, shop.TopicProducts, shop.TopicOrders, shop.TopicOrderItems, shop.TopicUsers))
	if err != nil {
		return fail(fmt.Errorf("embedded kafka: %w", err))
	}
	defer cluster.Close()
	brokers := strings.Join(cluster.ListenAddrs(), ",")
	os.Setenv("PROJECTOR_KAFKA_BROKERS", brokers)
	os.Setenv("PROJECTOR_GROUP", "projector-demo")
	if os.Getenv("PROJECTOR_ADMIN_LISTEN") == "" {
		os.Setenv("PROJECTOR_ADMIN_LISTEN", "127.0.0.1:0")
	}
	// The configuration is checked before anything is dropped: a mistyped
	// -c must not cost the previous demo's data.
	_, plan, err := g.loadPlan()
	if err != nil {
		return err
	}
	topics := shopTopics(plan)
	if len(topics) == 0 {
		return usageError(fmt.Errorf("%s reads none of the example shop's topics (%s): the demo feeds only those",
			g.config, strings.Join(allShopTopics, ", ")))
	}
	demoURL, err := freshDatabase(parent, os.Getenv("PROJECTOR_POSTGRES_URL"), "projector_demo")
	if err != nil {
		return fail(err)
	}
	os.Setenv("PROJECTOR_POSTGRES_URL", demoURL)

	cfg, plan, err := g.loadPlan() // again: its URL now names the demo's database
	if err != nil {
		return err
	}
	log := g.logger(cfg.Log)
	if err := clearRedis(parent, cfg.Stores.Redis.URL); err != nil {
		return fail(err)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	if err != nil {
		return fail(err)
	}
	defer cl.Close()
	gen := shop.New(o.seed)
	msgs := append(gen.Snapshot(o.users, 40, o.orders, 4), gen.Changes(o.changes)...)
	if err := produce(parent, cl, msgs); err != nil {
		return fail(err)
	}
	// Ctrl-C from the line below on stops the demo gracefully.
	ctx, interrupted, release := twoStageSignals(parent, log, daemonShutdown)
	defer release()
	fmt.Fprintf(g.stdout, "embedded Kafka at %s: %d Debezium records of the example shop\n", brokers, len(msgs))

	// daemonEnd is the demo's exit for the daemon's end, as run's
	// (runExit): a store setting run refuses at start is a usage error.
	daemonEnd := func(err error) error {
		if errors.Is(err, context.Canceled) {
			err = nil // stopped by the demo
		}
		return runExit(ctx, err)
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- runDaemon(ctx, stop, cfg, plan, log, daemonOptions{}) }()

	adm := kadm.NewClient(cl)
	waitErr := make(chan error, 1)
	go func() { waitErr <- kafkautil.WaitCaughtUp(ctx, adm, cfg.Kafka.Group, 2*time.Minute, topics...) }()
	select {
	case err := <-done:
		// A first Ctrl-C during the start may end the daemon (nil) before
		// interrupted is picked.
		if err != nil {
			err = fmt.Errorf("projector stopped: %w", err)
		}
		return daemonEnd(err)
	case <-interrupted:
		// Ctrl-C during the catch-up: stop now, as after it.
		close(stop)
		return daemonEnd(<-done)
	case err := <-waitErr:
		if err != nil {
			close(stop)
			<-done
			return fail(err)
		}
	}
	fmt.Fprintf(g.stdout, "projected %d records in %s\n\n", len(msgs), time.Since(start).Round(time.Millisecond))
	show := showShop
	if !showsShop(plan) {
		show = showViews(plan)
	}
	if err := show(ctx, g, cfg.Stores.Postgres.URL, cfg.Stores.Redis.URL); err != nil {
		close(stop)
		<-done
		return fail(err)
	}
	if o.follow {
		fmt.Fprintln(g.stdout, "\n--follow: changing the shop 20 times a second; Ctrl-C to stop")
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
	loop:
		for {
			select {
			case <-interrupted:
				break loop
			case <-ctx.Done():
				break loop
			case err := <-done:
				return daemonEnd(err)
			case <-tick.C:
				if err := produce(ctx, cl, gen.Changes(1)); err != nil && !errors.Is(err, context.Canceled) {
					return fail(err)
				}
			}
		}
	}
	close(stop)
	return daemonEnd(<-done)
}

func produce(ctx context.Context, cl *kgo.Client, msgs []shop.Message) error {
	recs := make([]*kgo.Record, len(msgs))
	for i, m := range msgs {
		recs[i] = &kgo.Record{Topic: m.Topic, Key: m.Key, Value: m.Value}
	}
	return cl.ProduceSync(ctx, recs...).FirstErr()
}

// freshDatabase drops and creates the demo's own database on the server of
// base and returns its URL.
func freshDatabase(ctx context.Context, base, name string) (string, error) {
	if base == "" {
		return "", errors.New("PROJECTOR_POSTGRES_URL is not set: run `make demo`, or start PostgreSQL and Redis with scripts/services.sh up")
	}
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		"DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize() + " WITH (FORCE)",
		"CREATE DATABASE " + pgx.Identifier{name}.Sanitize(),
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return "", fmt.Errorf("demo database: %w", err)
		}
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// clearRedis removes the demo's keys left by an earlier run.
func clearRedis(ctx context.Context, rawURL string) error {
	if rawURL == "" {
		return nil
	}
	c, _, err := stack.OpenRedis(ctx, rawURL, redisconn.Tuning{})
	if err != nil {
		return err
	}
	defer c.Close()
	// On a cluster every master holds some of the keys.
	for _, pattern := range []string{"order:*", "user:*:stats", "projector:*"} {
		err := redisconn.Scan(ctx, c, pattern, func(ctx context.Context, node *goredis.Client, key string) error {
			return node.Del(ctx, key).Err()
		})
		if err != nil {
			return fmt.Errorf("redis: %w", err)
		}
	}
	return nil
}

var allShopTopics = []string{shop.TopicProducts, shop.TopicOrders, shop.TopicOrderItems, shop.TopicUsers}

// shopTopics are the example shop's topics plan reads: those the demo
// waits for.
func shopTopics(plan *projections.Plan) []string {
	var out []string
	for _, t := range allShopTopics {
		if slices.ContainsFunc(plan.Sources, func(s *projections.Source) bool { return s.Topic == t }) {
			out = append(out, t)
		}
	}
	return out
}

// showViews prints the first documents of each view of plan stored in
// PostgreSQL, as its readers see them: the demo of a file other than the
// example's, over the example's stream.
func showViews(plan *projections.Plan) func(ctx context.Context, g *globals, pgURL, _ string) error {
	return func(ctx context.Context, g *globals, pgURL, _ string) error {
		conn, err := pgx.Connect(ctx, pgURL)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		for _, v := range plan.Views {
			pg := v.Sinks.Postgres
			if pg == nil {
				fmt.Fprintf(g.stdout, "%s: not in PostgreSQL (see its other stores)\n\n", v.Name)
				continue
			}
			table := pgx.Identifier{pg.Schema, pg.Table}.Sanitize()
			// By id: the first documents, whatever order the batches
			// wrote them in.
			order := make([]string, len(v.ID))
			for i, id := range v.ID {
				order[i] = pgx.Identifier{id}.Sanitize()
			}
			by := " ORDER BY " + strings.Join(order, ", ")
			fmt.Fprintf(g.stdout, "PostgreSQL> SELECT * FROM %s%s LIMIT 5;\n", table, by)
			var n int64
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
				return err
			}
			rows, err := conn.Query(ctx, `SELECT row_to_json(t)::text FROM `+table+` t`+by+` LIMIT 5`)
			if err != nil {
				return err
			}
			for rows.Next() {
				var doc string
				if err := rows.Scan(&doc); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "  %s\n", doc)
			}
			if err := rows.Err(); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "  (%d documents in %s)\n\n", n, v.Name)
		}
		return nil
	}
}

// showsShop reports whether the plan has the example's views as showShop
// reads them: their PostgreSQL tables and columns, and their Redis keys.
// An edited copy of the example may not: it gets showViews.
func showsShop(plan *projections.Plan) bool {
	ov, us := plan.View("order_view"), plan.View("user_order_stats")
	return ov != nil && us != nil &&
		servesTable(ov, "order_view", "id", "status", "total_amount", "customer", "item_count") &&
		servesTable(us, "user_order_stats", "user_id", "order_count", "total_spent") &&
		servesKey(ov, "order:{id}", "json") && servesKey(us, "user:{user_id}:stats", "hash", "order_count", "total_spent")
}

// servesTable reports whether the view has the PostgreSQL table, in the
// public schema, with the columns.
func servesTable(v *projections.View, table string, cols ...string) bool {
	ps := v.Sinks.Postgres
	if ps == nil || cmp.Or(ps.Table, v.Name) != table || cmp.Or(ps.Schema, "public") != "public" {
		return false
	}
	for _, c := range cols {
		if !slices.ContainsFunc(v.Fields, func(f *projections.Field) bool { return f.Name == c }) ||
			(len(ps.Fields) > 0 && !slices.Contains(ps.Fields, c)) {
			return false
		}
	}
	return true
}

// servesKey reports whether the view's Redis documents are at key, in
// format, with fields (whole when none are named).
func servesKey(v *projections.View, key, format string, fields ...string) bool {
	rs := v.Sinks.Redis
	if rs == nil || rs.Key != key || cmp.Or(rs.Format, "json") != format {
		return false
	}
	switch {
	case len(rs.Fields) == 0:
		return true // the whole document
	case len(fields) == 0:
		return false // the whole document wanted
	}
	for _, f := range fields {
		if !slices.Contains(rs.Fields, f) {
			return false
		}
	}
	return true
}

// showShop prints a few documents of the example's views as a reader of
// each store sees them.
func showShop(ctx context.Context, g *globals, pgURL, redisURL string) error {
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	w := g.stdout
	fmt.Fprintln(w, "PostgreSQL> SELECT id, status, total_amount, customer->>'name', item_count FROM order_view ORDER BY id LIMIT 5;")
	rows, err := conn.Query(ctx, `SELECT id, status, total_amount::text, coalesce(customer->>'name', '(no such user)'), item_count FROM order_view ORDER BY id LIMIT 5`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, items int64
		var status, total, customer string
		if err := rows.Scan(&id, &status, &total, &customer, &items); err != nil {
			return err
		}
		fmt.Fprintf(w, "  %-4d %-10s %9s  %-20s %d item(s)\n", id, status, total, customer, items)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var views, stats int64
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM order_view), (SELECT count(*) FROM user_order_stats)`).Scan(&views, &stats); err != nil {
		return err
	}
	fmt.Fprintf(w, "  (%d orders in order_view, %d users in user_order_stats)\n\n", views, stats)

	var topUser string
	fmt.Fprintln(w, "PostgreSQL> SELECT * FROM user_order_stats ORDER BY total_spent DESC LIMIT 3;")
	rows, err = conn.Query(ctx, `SELECT user_id, order_count, total_spent::text FROM user_order_stats ORDER BY total_spent DESC, user_id LIMIT 3`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var user, total string
		var count int64
		if err := rows.Scan(&user, &count, &total); err != nil {
			return err
		}
		if topUser == "" {
			topUser = user
		}
		fmt.Fprintf(w, "  %s  %3d orders  %10s\n", user, count, total)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if redisURL == "" {
		return nil
	}
	rc, _, err := stack.OpenRedis(ctx, redisURL, redisconn.Tuning{})
	if err != nil {
		return err
	}
	defer rc.Close()
	var firstID int64
	if err := conn.QueryRow(ctx, `SELECT min(id) FROM order_view`).Scan(&firstID); err != nil {
		return err
	}
	key := fmt.Sprintf("order:%d", firstID)
	doc, err := rc.Get(ctx, key).Result()
	if err != nil {
		return fmt.Errorf("redis GET %s: %w", key, err)
	}
	var pretty any
	_ = json.Unmarshal([]byte(doc), &pretty)
	b, _ := json.MarshalIndent(pretty, "  ", "  ")
	fmt.Fprintf(w, "\nRedis> GET %s\n  %s\n", key, b)
	if topUser != "" {
		key := "user:" + topUser + ":stats"
		h, err := rc.HGetAll(ctx, key).Result()
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\nRedis> HGETALL %s\n  order_count %s, total_spent %s\n", key, h["order_count"], h["total_spent"])
	}
	return nil
}
