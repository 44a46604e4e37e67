package redis

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// TestClusterEmptyFieldTag: on a cluster, a view whose key and index share
// a field's hash tag writes a doc whose value of that field gives an empty
// tag ("" or one starting with "}"): the doc and its revision are
// written, under the key its template gives, and it is in no index, as
// with a null field; its delete goes through. Other values are indexed.
func TestClusterEmptyFieldTag(t *testing.T) {
	client, prefix := testenv.RedisCluster(t)
	ctx := context.Background()
	s, err := New(client, []View{{Name: "orders", Key: prefix + "order:{{{customer}}}:{id}",
		Indexes: []Index{{Key: prefix + "user:{{{customer}}}:orders", Score: "total"}}}},
		Options{RevKeyPrefix: prefix + "rev:", MembershipKeyPrefix: prefix + "ix:", TombstoneTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(id int, customer string, rev int64, deleted bool) sinks.Doc {
		d := sinks.Doc{View: "orders", ID: fmt.Sprint(id), Rev: rev, Deleted: deleted,
			Key: map[string]any{"id": id, "customer": customer}}
		if !deleted {
			d.Fields = map[string]any{"id": id, "customer": customer, "total": 5}
		}
		return d
	}
	customers := []string{"", "}x", "c1"}
	var docs []sinks.Doc
	for i, c := range customers {
		docs = append(docs, mk(i, c, 1, false))
	}
	if err := s.Write(ctx, docs); err != nil {
		t.Fatalf("Write: %v", err)
	}
	for i, c := range customers {
		key, err := s.Key("orders", docs[i].Key)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := client.Exists(ctx, key, s.revKey(key)).Result(); n != 2 {
			t.Errorf("customer %q: %d of its key %s and rev key exist, want both", c, n, key)
		}
		ix := prefix + "user:{" + c + "}:orders"
		got, err := client.ZRange(ctx, ix, 0, -1).Result()
		switch {
		case err != nil:
			t.Fatal(err)
		case c == "c1" && (len(got) != 1 || got[0] != docs[i].ID):
			t.Errorf("index %s = %v, want [%s]", ix, got, docs[i].ID)
		case c != "c1" && len(got) != 0:
			t.Errorf("index %s = %v, want the doc of an empty hash tag left out", ix, got)
		}
	}
	var dels []sinks.Doc
	for i, c := range customers {
		dels = append(dels, mk(i, c, 2, true))
	}
	if err := s.Write(ctx, dels); err != nil {
		t.Fatalf("Write(deletes): %v", err)
	}
	if got, _ := client.ZRange(ctx, prefix+"user:{c1}:orders", 0, -1).Result(); len(got) != 0 {
		t.Errorf("index of c1 = %v after the delete, want it empty", got)
	}
}

// TestInSlot: the entries a cluster's script may write beside a doc's key.
func TestInSlot(t *testing.T) {
	field := &view{tagField: "customer"}
	literal := &view{}
	tests := []struct {
		name    string
		v       *view
		key     string
		entries []string
		want    int
	}{
		{"field tag", field, "order:{c1}:1", []string{"user:{c1}:orders"}, 1},
		{"empty tag", field, "order:{}:1", []string{"user:{}:orders"}, 0},
		{"tag cut at once", field, "order:{}x}:1", []string{"user:{}x}:orders"}, 0},
		{"literal tag, untagged index in its slot", literal, "{orders}:1", []string{"orders"}, 1},
		{"another slot", literal, "{orders}:1", []string{"{users}:by_total"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var entries []entry
			for _, k := range tt.entries {
				entries = append(entries, entry{key: k, score: "1"})
			}
			if got := tt.v.inSlot(tt.key, entries); len(got) != tt.want {
				t.Errorf("inSlot(%q, %v) = %v, want %d entries", tt.key, tt.entries, got, tt.want)
			}
		})
	}
}
