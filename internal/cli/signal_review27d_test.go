package cli

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

// TestR27dSecondSignalWhileLeavingExitsOne: README, Commands and Stopping:
// "A second signal exits at once with status 1". The first signal drains
// and commits, then the daemon leaves its group; a coordinator that does
// not answer the LeaveGroup holds the exit for what is left of
// kafka.shutdown_timeout. A second signal then (the operator pressing
// Ctrl-C again, or Kubernetes' SIGKILL-free re-send) cuts the wait short,
// and the daemon logs "exiting at once", but `run` exits 0: Consumer.Run
// returns the nil that consume gave before the deferred leave, and runExit
// maps a nil error to exit 0 before it looks at the forced stop's cause.
//
// Reproduced by hand: a `projector run` whose brokers do not answer (the
// graceful leave then waits), SIGTERM twice: "exiting at once:
// uncommitted records will be consumed again", exit status 0.
func TestR27dSecondSignalWhileLeavingExitsOne(t *testing.T) {
	_, url := testenv.Postgres(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "cqrs.public.widgets"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	leaving := make(chan struct{}, 1)
	c.ControlKey(int16(kmsg.LeaveGroup), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		select {
		case leaving <- struct{}{}:
		default:
		}
		return nil, nil, true // never answered: the coordinator hangs
	})
	file := widgetsConfig(t, `kafka: { brokers: "`+strings.Join(c.ListenAddrs(), ",")+`", group: r27d-leave, shutdown_timeout: 10m }
stores: { postgres: { url: "`+url+`" } }
admin: { listen: "127.0.0.1:0" }`, `{ postgres: {} }`)
	cfg, err := config.Load(file, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// What twoStageSignals gives `run`: stop closed by the first signal,
	// ctx cancelled with errForcedStop by the second.
	ctx, forced := context.WithCancelCause(context.Background())
	defer forced(errForcedStop)
	d := &daemon{logs: &testenv.Logs{}, stop: make(chan struct{}), done: make(chan error, 1)}
	log := slog.New(slog.NewTextHandler(d.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	go func() { d.done <- runExit(ctx, runDaemon(ctx, d.stop, cfg, plan, log, daemonOptions{})) }()
	d.readyz(t, http.StatusOK, `"ready"`) // joined: a stop will leave the group

	close(d.stop) // the first signal
	select {
	case <-leaving:
	case err := <-d.done:
		t.Fatalf("run ended before leaving its group: %v\n%s", err, d.logs)
	case <-time.After(time.Minute):
		t.Fatalf("no LeaveGroup within a minute of the stop\n%s", d.logs)
	}
	forced(errForcedStop) // the second signal, while the leave waits
	select {
	case err := <-d.done:
		var exit *exitError
		if !errors.As(err, &exit) || exit.code != ExitFailure {
			t.Errorf("second signal while leaving the group: run returns %v (exit 0), want exit %d as the README says\n%s",
				err, ExitFailure, d.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the second signal did not stop run at once\n%s", d.logs)
	}
}
