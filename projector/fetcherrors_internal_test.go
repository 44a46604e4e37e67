package projector

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// fetchErrorLog is a fetchErrors whose clock the test moves, and what it
// logged.
type fetchErrorLog struct {
	*fetchErrors
	at  time.Time
	out bytes.Buffer
}

func newFetchErrorLog() *fetchErrorLog {
	l := &fetchErrorLog{at: time.Unix(1e9, 0)}
	l.fetchErrors = newFetchErrors(slog.New(slog.NewTextHandler(&l.out, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})))
	l.now = func() time.Time { return l.at }
	return l
}

// poll reports a poll as consume does, and returns what it logged.
func (l *fetchErrorLog) poll(parts ...kgo.FetchPartition) string {
	l.out.Reset()
	fetches := kgo.Fetches{{Topics: []kgo.FetchTopic{{Topic: "t", Partitions: parts}}}}
	fetches.EachError(l.failed)
	l.report(fetches)
	return l.out.String()
}

func refused(p int32) kgo.FetchPartition {
	return kgo.FetchPartition{Partition: p, Err: kerr.TopicAuthorizationFailed, HighWatermark: -1, LastStableOffset: -1}
}

func fine(p int32) kgo.FetchPartition {
	return kgo.FetchPartition{Partition: p, Records: []*kgo.Record{{Topic: "t", Partition: p}}}
}

func wantLog(t *testing.T, when, got, want string) {
	t.Helper()
	if strings.TrimSpace(got) != strings.TrimSpace(want) {
		t.Errorf("%s logged:\n%s\nwant:\n%s", when, got, want)
	}
}

// TestFetchErrorLoggedOnceWhileItLasts: an error every poll brings
// (TOPIC_AUTHORIZATION_FAILED: the Read ACL was removed) is logged once
// for the topic's partitions failing with it, again every repeatEvery
// with how often it came meanwhile, again when it changes, and its end
// once.
func TestFetchErrorLoggedOnceWhileItLasts(t *testing.T) {
	l := newFetchErrorLog()
	denied := `level=WARN msg="fetch error" topic=t partitions="[0 1]" err="TOPIC_AUTHORIZATION_FAILED: Not authorized to access topics: [Topic authorization failed.]"`
	wantLog(t, "the first refused poll", l.poll(refused(0), refused(1)), denied)
	for range 100 {
		l.at = l.at.Add(time.Second)
		wantLog(t, "a refused poll a second later", l.poll(refused(0), refused(1)), "")
	}
	l.at = l.at.Add(repeatEvery)
	wantLog(t, "a refused poll 10 minutes later", l.poll(refused(0), refused(1)), denied+" repeated=100")
	wantLog(t, "a poll of partition 1 only", l.poll(refused(1)), "")

	wantLog(t, "partition 0 fetched again", l.poll(fine(0), refused(1)),
		`level=INFO msg="fetch error cleared" topic=t partitions=[0] err="TOPIC_AUTHORIZATION_FAILED: Not authorized to access topics: [Topic authorization failed.]"`)
	changed := kgo.FetchPartition{Partition: 1, Err: errors.New("unsupported compression")}
	wantLog(t, "another error of partition 1", l.poll(fine(0), changed),
		`level=WARN msg="fetch error" topic=t partitions=[1] err="unsupported compression"`)
	wantLog(t, "partition 1 fetched again", l.poll(fine(0), fine(1)),
		`level=INFO msg="fetch error cleared" topic=t partitions=[1] err="unsupported compression"`)
	wantLog(t, "polls without errors", l.poll(fine(0), fine(1)), "")
	wantLog(t, "the ACL removed again", l.poll(refused(0)),
		`level=WARN msg="fetch error" topic=t partitions=[0] err="TOPIC_AUTHORIZATION_FAILED: Not authorized to access topics: [Topic authorization failed.]"`)
}
