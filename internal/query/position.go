package query

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projector"
)

// Read-your-writes. A client that wrote to a source database names the
// position of its write, and the server answers only once the views
// reflect it. A position is "<source>:<position>":
//
//   - PostgreSQL: the LSN as PostgreSQL prints it, "orders:0/16B3748"
//     (pg_current_wal_lsn() after the commit, or the LSN Debezium reports),
//     or as a decimal number, "orders:23803720";
//   - MongoDB: the oplog time in seconds and the ordinal,
//     "users:1718000000:3" (the operationTime / clusterTime of the write).
//
// It is given as the min_position query parameter or the
// Projector-Min-Position header (several positions: repeat the parameter or
// separate them with commas). The source's topic is projected up to it
// when every partition has either projected a change at or past the
// position, or projected every record it held when the request arrived
// (its end offset then, from Kafka). Without Kafka (unreachable, or not
// configured) only the first test applies. A position that is never
// reached ends the wait (?wait=, default 5s, at most 30s) with 504. The
// rest of the request is checked before the wait: one that can never
// succeed (a bad id, filter, limit or cursor; a view not in the store
// asked) gets its 400 or 404 at once, as it would without a position.
//
// The end offsets are those of the moment the request arrives: a write
// whose change Debezium has not yet published to Kafka cannot be waited
// for by the "caught up" test, so clients should pass the LSN of their
// own commit (at or after their change) rather than an older one.

// MinPositionHeader is the request header that carries positions.
const MinPositionHeader = "Projector-Min-Position"

const (
	defaultWait = 5 * time.Second
	maxWait     = 30 * time.Second
	maxPolls    = 50 * time.Millisecond // the longest pause between two looks
)

// positionForm remembers how a position was written, to print progress the
// same way.
type positionForm int

const (
	formLSN positionForm = iota + 1
	formDecimal
	formMongo
)

type minPosition struct {
	Source string
	Pos    debezium.Position
	Form   positionForm
}

func (m minPosition) format(p debezium.Position) string {
	switch m.Form {
	case formLSN:
		return fmt.Sprintf("%X/%X", uint64(p.Hi)>>32, uint64(p.Hi)&0xFFFFFFFF)
	case formMongo:
		return strconv.FormatInt(p.Hi, 10) + ":" + strconv.FormatInt(p.Lo, 10)
	}
	return strconv.FormatInt(p.Hi, 10)
}

// parsePositions reads the min_position parameters and header values of
// a read of v, and refuses a position on a source v does not read: waiting
// on it says nothing about the view.
func (s *Server) parsePositions(v *view, values []string) ([]minPosition, error) {
	var out []minPosition
	for _, val := range values {
		for _, item := range strings.Split(val, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			mp, err := s.parsePosition(v, item)
			if err != nil {
				return nil, badRequest("bad_position", "min_position", "min_position %q: %v", echo(item), err)
			}
			out = append(out, mp)
			if len(out) > len(v.Sources) {
				// Counted against the view's sources, not the file's: a
				// token that may read v only learns nothing of the others.
				return nil, badRequest("bad_position", "min_position", "more positions than view %s reads sources (%d)", v.Name, len(v.Sources))
			}
		}
	}
	return out, nil
}

// parsePosition reads one "<source>:<position>" of a read of v. Only the
// sources v reads are looked up: a position on any other is refused with
// the same words whether or not the configuration declares it, so that a
// token that may read v only learns nothing of the other sources.
func (s *Server) parsePosition(v *view, item string) (minPosition, error) {
	// Source names may themselves contain ':'; the longest name the item
	// starts with wins.
	var src string
	for _, name := range v.Sources {
		if strings.HasPrefix(item, name+":") && len(name) > len(src) {
			src = name
		}
	}
	if src == "" {
		reads := strings.Join(v.Sources, ", ")
		if name, _, ok := strings.Cut(item, ":"); ok && name != "" {
			return minPosition{}, fmt.Errorf("view %s does not read source %q (it reads %s)", v.Name, echo(name), reads)
		}
		return minPosition{}, fmt.Errorf("want SOURCE:POSITION, with SOURCE one of the sources view %s reads (%s)", v.Name, reads)
	}
	rest := item[len(src)+1:]
	mp := minPosition{Source: src}
	switch {
	case strings.Contains(rest, "/"):
		hi, lo, _ := strings.Cut(rest, "/")
		h, err1 := strconv.ParseUint(hi, 16, 32)
		l, err2 := strconv.ParseUint(lo, 16, 32)
		if err1 != nil || err2 != nil || hi == "" || lo == "" {
			return minPosition{}, fmt.Errorf("LSN must be two hex numbers of at most 8 digits, X/Y")
		}
		lsn := h<<32 | l
		if lsn > 1<<63-1 {
			return minPosition{}, fmt.Errorf("LSN out of range")
		}
		mp.Pos, mp.Form = debezium.Position{Hi: int64(lsn)}, formLSN
	case strings.Contains(rest, ":"):
		ts, ord, _ := strings.Cut(rest, ":")
		t, err1 := strconv.ParseInt(ts, 10, 64)
		o, err2 := strconv.ParseInt(ord, 10, 64)
		if err1 != nil || err2 != nil || t < 0 || o < 0 {
			return minPosition{}, fmt.Errorf("MongoDB position must be <seconds>:<ordinal>, both whole numbers")
		}
		mp.Pos, mp.Form = debezium.Position{Hi: t, Lo: o}, formMongo
	default:
		n, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || n < 0 {
			return minPosition{}, fmt.Errorf("position must be an LSN X/Y, a decimal LSN, or <seconds>:<ordinal>")
		}
		mp.Pos, mp.Form = debezium.Position{Hi: n}, formDecimal
	}
	return mp, nil
}

// parseWait reads ?wait=, a Go duration ("2s", "500ms").
func parseWait(v string) (time.Duration, error) {
	if v == "" {
		return defaultWait, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > maxWait {
		return 0, badRequest("bad_wait", "wait", "wait must be a duration from 0 to %s, e.g. 2s", maxWait)
	}
	return d, nil
}

// SourceProgress is how far a source's partitions are, in a 504 answer.
type SourceProgress struct {
	Requested  string              `json:"requested"`
	Partitions []PartitionProgress `json:"partitions"`
}

// PartitionProgress is one partition's watermark; EndOffset is absent when
// Kafka could not be asked.
type PartitionProgress struct {
	Partition int32  `json:"partition"`
	Position  string `json:"position"`
	Offset    int64  `json:"offset"`
	EndOffset *int64 `json:"end_offset,omitempty"`
}

// WaitFor waits until the view reflects every position ("orders:0/16B3748",
// see above; several in one string separated by commas) or wait passes:
// then it returns an *Error (504, wrapping ErrNotReached) with each
// source's progress. A malformed position, or one of a source the view
// does not read, is an *Error wrapping ErrBadRequest.
func (s *Server) WaitFor(ctx context.Context, viewName string, positions []string, wait time.Duration) error {
	arrived := time.Now()
	v, err := s.view(viewName)
	if err != nil {
		return err
	}
	mps, err := s.parsePositions(v, positions)
	if err != nil {
		return err
	}
	if wait < 0 || wait > maxWait {
		return badRequest("bad_wait", "wait", "wait must be from 0 to %s", maxWait)
	}
	return s.waitFor(ctx, mps, wait, arrived)
}

// waitFor is WaitFor for parsed positions. arrived is when the request
// came in: Kafka end offsets are taken from no earlier than that.
func (s *Server) waitFor(ctx context.Context, positions []minPosition, wait time.Duration, arrived time.Time) error {
	if len(positions) == 0 {
		return nil
	}
	deadline := time.Now().Add(wait)
	ends := map[string]map[int32]int64{}
	var kafkaErr error // why the caught-up test could not apply
	for _, mp := range positions {
		topic := s.plan.Source(mp.Source).Topic
		if _, done := ends[topic]; done {
			continue
		}
		// The lookup has its own timeout (KafkaTimeout), even beyond the
		// wait: "caught up" can answer a wait of 0.
		e, err := s.offsets.get(ctx, topic, arrived)
		if err != nil {
			e = nil // Kafka cannot be asked: positions only
			if s.adm != nil {
				kafkaErr = err
			}
		}
		ends[topic] = e
	}
	pause := time.Millisecond
	for {
		current := map[string]*SourceProgress{}
		done := true
		for _, mp := range positions {
			marks, err := s.watermarks(ctx, mp.Source)
			if err != nil {
				return fmt.Errorf("read-your-writes: %w", err)
			}
			ok, prog := reached(mp, marks, ends[s.plan.Source(mp.Source).Topic])
			current[mp.Source] = prog
			done = done && ok
		}
		if done {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			if kafkaErr != nil {
				s.log.Warn("read-your-writes: kafka could not be asked for end offsets, so only positions were compared",
					"err", s.kafkaCause(kafkaErr))
			}
			return &Error{Status: http.StatusGatewayTimeout, Code: "position_not_reached", kind: ErrNotReached, Current: current,
				Message: fmt.Sprintf("the views did not reach the requested position within %s", wait)}
		}
		t := time.NewTimer(min(pause, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		pause = min(pause*2, maxPolls)
	}
}

// reached applies the rule above to one source. ends is nil when Kafka
// could not be asked.
func reached(mp minPosition, marks []projector.Watermark, ends map[int32]int64) (bool, *SourceProgress) {
	prog := &SourceProgress{Requested: mp.format(mp.Pos), Partitions: []PartitionProgress{}}
	byPart := map[int32]projector.Watermark{}
	for _, w := range marks {
		byPart[w.Partition] = w
		pp := PartitionProgress{Partition: w.Partition, Position: mp.format(w.Position), Offset: w.Offset}
		if e, ok := ends[w.Partition]; ok {
			pp.EndOffset = &e
		}
		prog.Partitions = append(prog.Partitions, pp)
	}
	if ends == nil {
		if len(marks) == 0 {
			return false, prog
		}
		for _, w := range marks {
			if w.Position.Compare(mp.Pos) < 0 {
				return false, prog
			}
		}
		return true, prog
	}
	for p, end := range ends {
		w, ok := byPart[p]
		switch {
		case end <= 0:
		case !ok:
			e := end
			prog.Partitions = append(prog.Partitions, PartitionProgress{Partition: p, Position: mp.format(debezium.Position{}), EndOffset: &e})
			return false, prog
		case w.Position.Compare(mp.Pos) >= 0, w.Offset >= end:
		default:
			return false, prog
		}
	}
	return true, prog
}
