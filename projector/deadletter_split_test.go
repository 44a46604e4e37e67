package projector

import (
	"context"
	"encoding/base64"
	"math/rand/v2"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestDeadLettersRefusedTogetherAreSentAlone: dead letters sent together
// to a topic that takes less than the consumer knew (its max.message.bytes
// could not be read) are refused as one batch; each is sent again alone
// before anything is left out of it, so only the one too large alone loses
// its value.
func TestDeadLettersRefusedTogetherAreSentAlone(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ProducerBatchMaxBytes(maxDeadLetterBatch))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	small := "4000"
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), 1, 1, map[string]*string{"max.message.bytes": &small}, "dlq"); err != nil {
		t.Fatal(err)
	}
	noise := func(n int, seed byte) []byte {
		b := make([]byte, n)
		_, _ = rand.NewChaCha8([32]byte{seed}).Read(b)
		return []byte(base64.StdEncoding.EncodeToString(b)) // incompressible
	}
	var out []*kgo.Record
	for i := range 3 {
		out = append(out, &kgo.Record{Topic: "dlq", Value: noise(1_500, byte(i))}) // 2,000 bytes: fits alone
	}
	out = append(out, &kgo.Record{Topic: "dlq", Value: noise(6_000, 9)}) // 8,000 bytes: does not
	cons := &Consumer{cl: cl, opts: ConsumerOptions{DeadLetterTopic: "dlq"}}
	if err := cons.produceOmittingTooLarge(context.Background(), out, defaultDeadLetterBytes); err != nil {
		t.Fatal(err)
	}
	for i, r := range out {
		if kept := r.Value != nil; kept != (i < 3) {
			t.Errorf("dead letter %d kept its value: %v, want %v", i, kept, i < 3)
		}
	}
}
