package query_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/query"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

// TestReadYourWritesOpenTransaction: a client's write (LSN 200) is in a
// transaction Kafka Connect has written but not committed yet; the views
// reflect LSN 100 only. The read is not answered as caught up: the
// partition holds, beyond the watermark, the record of the write.
func TestReadYourWritesOpenTransaction(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "ut.a"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	ctx := context.Background()
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "ut.a", Value: []byte("{}")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	txn, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.TransactionalID("connect-ut"))
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Close()
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	// The change of the client's write, at offset 1, not committed yet.
	if err := txn.ProduceSync(ctx, &kgo.Record{Topic: "ut.a", Value: []byte("{}")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	pool, pgURL := testenv.Postgres(t)
	for _, q := range []string{
		`CREATE SCHEMA projector`,
		`CREATE TABLE projector.watermarks (source text NOT NULL, topic text NOT NULL, partition int NOT NULL,
			"offset" bigint NOT NULL, pos_hi bigint NOT NULL, pos_lo bigint NOT NULL, updated_at timestamptz NOT NULL, PRIMARY KEY (topic, partition))`,
		// Partition 0 projected its committed record (next offset 1), at LSN 100.
		`INSERT INTO projector.watermarks VALUES ('a', 'ut.a', 0, 1, 100, 0, now())`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"BROKERS": kc.ListenAddrs()[0], "PG": pgURL}
	cfg, err := config.Parse("ut.yaml", []byte(unknownTopicYAML), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := query.New(ctx, cfg, plan, query.Options{KafkaTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	err = srv.WaitFor(ctx, "av", []string{"a:200"}, 300*time.Millisecond)
	if !errors.Is(err, query.ErrNotReached) {
		t.Fatalf("position 200 is in an open transaction the views do not reflect (watermark LSN 100), yet WaitFor = %v: "+
			"the read is answered from views that miss the write", err)
	}
}
