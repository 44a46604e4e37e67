package projector_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// r15oWidgetAt is an update of widget id at the given LSN (commit LSN
// just below it).
func r15oWidgetAt(id string, lsn int64, off int64) projector.Record {
	v := fmt.Sprintf(`{"op":"u","before":null,"after":{"id":%q,"name":"at %d","active":true},"source":{"connector":"postgresql","snapshot":"false","lsn":%d,"sequence":"[\"%d\",\"%d\"]"}}`,
		id, lsn, lsn, lsn-1, lsn)
	return projector.Record{Topic: "cqrs.public.widgets", Offset: off, Key: []byte(`{"id":"` + id + `"}`), Value: []byte(v)}
}

// TestR15oStaleCountedWithinABatch: projector_changes_stale_total counts
// the changes skipped because a newer position of their row is known. A
// replayed older change skipped for a newer one in the state counts; the
// same older change skipped for a newer one earlier in its own batch must
// count as well: the metric must not depend on where the batch boundary
// fell.
func TestR15oStaleCountedWithinABatch(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	reg := prometheus.NewRegistry()
	eng := widgetEngine(t, pgURL, newViewSink(), reg, nil, 0)
	ctx := context.Background()
	stale := func() float64 {
		v, _ := metricValue(t, reg, "projector_changes_stale_total", map[string]string{"source": "widgets"})
		return v
	}
	applied := func() float64 {
		v, _ := metricValue(t, reg, "projector_changes_applied_total", map[string]string{"source": "widgets"})
		return v
	}

	// Across batches: the newer change, then the older one replayed.
	if _, err := eng.Process(ctx, []projector.Record{r15oWidgetAt("a", 5000, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Process(ctx, []projector.Record{r15oWidgetAt("a", 3000, 1)}); err != nil {
		t.Fatal(err)
	}
	if a, s := applied(), stale(); a != 1 || s != 1 {
		t.Fatalf("across two batches: applied %v, stale %v; want 1 and 1", a, s)
	}

	// The same two changes of another row in one batch.
	if _, err := eng.Process(ctx, []projector.Record{r15oWidgetAt("b", 9000, 2), r15oWidgetAt("b", 7000, 3)}); err != nil {
		t.Fatal(err)
	}
	if a, s := applied(), stale(); a != 2 || s != 2 {
		t.Errorf("after the newer and the older change of row b in one batch: applied_total %v, stale_total %v; want 2 and 2 (the older change was skipped for a newer position, as in two batches, but is counted neither applied nor stale)", a, s)
	}
}
