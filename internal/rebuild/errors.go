package rebuild

import "errors"

var (
	// ErrUnknownView names a view the configuration does not declare.
	ErrUnknownView = errors.New("unknown view")
	// ErrUnknownStore names a store that is none of postgres, redis and
	// elasticsearch, or one the view has no sink in.
	ErrUnknownStore = errors.New("unknown store")
	// ErrStoreNotConfigured names a store the view has a sink in but whose
	// URL the configuration leaves empty, so nothing writes the view there.
	ErrStoreNotConfigured = errors.New("store not configured")
	// ErrDiscarded reports a rebuild that failed before it wrote anything
	// to its new generation: the generation was aborted and its targets
	// dropped rather than left to block the view's next rebuild.
	ErrDiscarded = errors.New("its generation was discarded")
	// ErrNotDeployed reports a database projector never ran against: the
	// registry's tables do not exist.
	ErrNotDeployed = errors.New("projector has not run against this database")
	// ErrMismatch reports a generation whose verification found documents
	// that differ from what the state gives: the swap is refused.
	ErrMismatch = errors.New("verification failed")
	// ErrNothingToResume reports a --resume or --abort of a view that has no
	// generation being built.
	ErrNothingToResume = errors.New("no rebuild to resume")
	// ErrInProgress reports a rebuild of a view that already has one under
	// way (in this or another process).
	ErrInProgress = errors.New("a rebuild of this view is under way")
	// ErrPartialSwap reports a swap that failed after moving readers of
	// some store to the new generation and could not move them back:
	// --resume finishes the swap, --abort moves them back.
	ErrPartialSwap = errors.New("readers partly swapped")
	// ErrUnsupported reports an option this build does not implement yet.
	ErrUnsupported = errors.New("not supported")
	// ErrKafkaUnreachable reports a replay (--from kafka or signal) that
	// stopped getting records before its end offsets and whose brokers then
	// did not answer: the rebuild fails rather than fill from a state
	// replayed in part, and --resume replays again.
	ErrKafkaUnreachable = errors.New("kafka unreachable during replay")
	// ErrIncompleteState reports a rebuild from the state of a view that
	// reads columns older state rows lack or hold as another declared type
	// (projector.Engine.MissingColumns), or a re-read that left rows
	// without them: only re-reading the sources fills them.
	ErrIncompleteState = errors.New("the state lacks columns the view reads")
	// ErrRenamedSource reports a rebuild from the state (or a re-read of
	// part of the rows) of a view reading a source renamed in the file,
	// whose state started empty while the old source's holds the rows
	// (projector.Renamed): only re-reading the sources fills it.
	ErrRenamedSource = errors.New("the state of a renamed source lacks its rows")
	// ErrOtherDefinition reports a rebuild of a view that a running
	// instance computes by another definition than the rebuild's file.
	ErrOtherDefinition = errors.New("a running instance has another definition of the view")
	// ErrPositionsAhead reports a source database whose WAL position is
	// below positions the state holds: it was restored, failed over with
	// WAL lost or replaced, and its changes are dropped as stale until
	// --reset-positions takes it as it is.
	ErrPositionsAhead = errors.New("the state is ahead of the source database")
)
