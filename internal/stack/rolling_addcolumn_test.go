package stack

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks/postgres"
)

// rollingOld is other_view as the file before the deploy declares it;
// rollingNew gains the field label, which PostgreSQL gets online.
const (
	rollingOld = `  other_view:
    from: items
    fields: { id: id, name: name }
    sinks:
      postgres: { table: other_view }
`
	rollingNew = `  other_view:
    from: items
    fields: { id: id, name: name, label: name }
    sinks:
      postgres: { table: other_view }
`
)

// TestOldFileRestartsAfterANewerAddedAColumn: a rolling deploy adds a
// field. An instance on the new file adds its column online; one still on
// the old file that restarts meanwhile (evicted, crashed) must start, warn
// once naming the view and the column, and leave the column NULL in the
// documents it writes, as its other stores lack the field: a value the
// newer file computed from an older row would be stale without saying so.
// The readers keep the column.
func TestOldFileRestartsAfterANewerAddedAColumn(t *testing.T) {
	d := newStaleDeployment(t)
	oldCfg, oldPlan := d.file(false, rollingOld)
	newCfg, newPlan := d.file(false, rollingNew)
	d.start(oldCfg, oldPlan, map[int64]*string{1: name("one")})
	d.start(newCfg, newPlan, map[int64]*string{2: name("two")})

	var logs testenv.Logs
	ctx := context.Background()
	st, err := Wire(ctx, oldCfg, oldPlan, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatalf("an instance on the old file refused to start after the new file added a column online: %v", err)
	}
	st.Close()
	warnings := logs.String()
	if n := strings.Count(warnings, "level=WARN"); n != 1 || !strings.Contains(warnings, "other_view") || !strings.Contains(warnings, "label") {
		t.Errorf("want one warning naming other_view and label, got %d:\n%s", n, warnings)
	}
	d.start(oldCfg, oldPlan, map[int64]*string{2: name("two-b"), 3: name("three")})

	got := map[int64]*string{}
	rows, err := d.pool.Query(ctx, `SELECT id, label FROM public.other_view`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var label *string
		if err := rows.Scan(&id, &label); err != nil {
			t.Fatal(err)
		}
		got[id] = label
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1] != nil || got[2] != nil || got[3] != nil {
		t.Errorf("labels after the old file wrote 2 and 3 (want all NULL, the readers keeping the column): %v", labels(got))
	}

	// The new file's next write fills it again.
	d.start(newCfg, newPlan, map[int64]*string{2: name("two-c")})
	var label *string
	if err := d.pool.QueryRow(ctx, `SELECT label FROM public.other_view WHERE id = 2`).Scan(&label); err != nil || label == nil || *label != "two-c" {
		t.Errorf("the new file's write: label %v, %v", label, err)
	}
}

// TestFileRemovingARecordedColumnStillRefused: a column the definition
// the documents were computed with declares, and the file does not, was
// removed by the file: readers would see a stale value, so the start is
// refused until a rebuild, as before.
func TestFileRemovingARecordedColumnStillRefused(t *testing.T) {
	d := newStaleDeployment(t)
	withLabel, withLabelPlan := d.file(false, rollingNew)
	without, withoutPlan := d.file(false, rollingOld)
	d.start(withLabel, withLabelPlan, map[int64]*string{1: name("one")})

	_, err := Wire(context.Background(), without, withoutPlan, nil)
	if !errors.Is(err, postgres.ErrNeedsRebuild) || !strings.Contains(err.Error(), `column "label" was removed`) {
		t.Errorf("a recorded column removed: want ErrNeedsRebuild naming label, got %v", err)
	}
}

func labels(m map[int64]*string) map[int64]string {
	out := map[int64]string{}
	for id, l := range m {
		out[id] = "NULL"
		if l != nil {
			out[id] = *l
		}
	}
	return out
}
