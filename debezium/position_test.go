package debezium

import "testing"

func TestRelationalPosition(t *testing.T) {
	lsn := func(n int64) *int64 { return &n }
	for _, tc := range []struct {
		name string
		src  Source
		want Position
	}{
		{"streamed", Source{LSN: lsn(500), CommitLSN: lsn(400)}, Position{Hi: 500, Lo: 500}},
		{"streamed after a later commit", Source{LSN: lsn(300), CommitLSN: lsn(400)}, Position{Hi: 400, Lo: 300}},
		{"first streamed transaction", Source{LSN: lsn(300)}, Position{Hi: 300}},
		{"initial snapshot read", Source{LSN: lsn(350), Snapshot: "true"}, Position{Hi: 350, Lo: SnapshotLo}},
		{"last initial snapshot read", Source{LSN: lsn(350), Snapshot: "last_in_data_collection"}, Position{Hi: 350, Lo: SnapshotLo}},
		// Without a committed LSN (unwrapped without __sequence), ordered
		// as an initial snapshot's: a change streamed after it committed
		// after it (Debezium's window de-duplication).
		{"incremental snapshot read", Source{LSN: lsn(350), Snapshot: "incremental"}, Position{Hi: 350, Lo: SnapshotLo}},
		{"incremental snapshot read with a commit", Source{LSN: lsn(350), CommitLSN: lsn(340), Snapshot: "incremental"}, Position{Hi: 350, Lo: 350}},
		{"projector's own read at an LSN", Source{LSN: lsn(350), Snapshot: ReadAtLSN}, Position{Hi: 350}},
		{"snapshot read during streaming", Source{LSN: lsn(350), CommitLSN: lsn(340), Snapshot: "true"}, Position{Hi: 350, Lo: 350}},
		{"no LSN", Source{}, Position{}},
	} {
		if got := relationalPosition(&tc.src); got != tc.want {
			t.Errorf("%s: position %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPositionReplaces(t *testing.T) {
	read := Position{Hi: 350, Lo: SnapshotLo} // an initial snapshot's read at LSN 350
	for _, tc := range []struct {
		name   string
		change Position
		stored Position
		want   bool
	}{
		{"newer", Position{Hi: 500, Lo: 500}, Position{Hi: 400, Lo: 400}, true},
		{"same", Position{Hi: 400, Lo: 400}, Position{Hi: 400, Lo: 400}, true},
		{"older", Position{Hi: 400, Lo: 300}, Position{Hi: 400, Lo: 400}, false},
		// The first transaction streamed after the snapshot committed after
		// it, though it wrote the row before the snapshot's LSN.
		{"first streamed transaction over a snapshot read", Position{Hi: 300}, read, true},
		{"snapshot read over the first streamed transaction", read, Position{Hi: 300}, true}, // by LSN, as a replay of the read would
		{"later transaction over a snapshot read", Position{Hi: 360, Lo: 300}, read, true},
		{"transaction before the snapshot, naming its commit", Position{Hi: 340, Lo: 300}, read, false},
		{"unknown position over a snapshot read", Position{}, read, false},
		{"snapshot read over an older one", Position{Hi: 360, Lo: SnapshotLo}, read, true},
		{"snapshot read over a newer one", read, Position{Hi: 360, Lo: SnapshotLo}, false},
		{"streamed at the snapshot's LSN", Position{Hi: 350}, read, true},
	} {
		if got := tc.change.Replaces(tc.stored); got != tc.want {
			t.Errorf("%s: %v replaces %v = %v, want %v", tc.name, tc.change, tc.stored, got, tc.want)
		}
	}
}
