package query

import (
	"testing"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
)

func TestParsePosition(t *testing.T) {
	s := &Server{plan: &projections.Plan{Sources: []*projections.Source{{Name: "orders"}, {Name: "users"}, {Name: "a:b"}}}}
	for _, c := range []struct {
		in   string
		want minPosition
	}{
		{"orders:0/16B3748", minPosition{"orders", debezium.Position{Hi: 0x16B3748}, formLSN}},
		{"orders:1A/0000000F", minPosition{"orders", debezium.Position{Hi: 0x1A<<32 | 0xF}, formLSN}},
		{"orders:FFFFFFFF/FFFFFFFF", minPosition{}}, // beyond int64
		{"orders:23803720", minPosition{"orders", debezium.Position{Hi: 23803720}, formDecimal}},
		{"users:1718000000:3", minPosition{"users", debezium.Position{Hi: 1718000000, Lo: 3}, formMongo}},
		{"a:b:7", minPosition{"a:b", debezium.Position{Hi: 7}, formDecimal}}, // the longest source name wins
		{"orders:", minPosition{}},
		{"orders:/1", minPosition{}},
		{"orders:1/", minPosition{}},
		{"orders:123456789/0", minPosition{}},
		{"orders:0x10", minPosition{}},
		{"orders:-1", minPosition{}},
		{"users:1:-1", minPosition{}},
		{"users:1:2:3", minPosition{}},
		{"nosuch:1", minPosition{}},
		{"1", minPosition{}},
	} {
		got, err := s.parsePosition(&view{Name: "ov", Sources: []string{"orders", "users", "a:b"}}, c.in)
		if c.want.Source == "" {
			if err == nil {
				t.Errorf("%q: accepted as %+v", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %+v, %v; want %+v", c.in, got, err, c.want)
		}
		// Progress is printed the way the position was written.
		if back := got.Source + ":" + got.format(got.Pos); c.want.Form == formLSN && back != "orders:"+trimLSN(c.in) {
			t.Errorf("%q printed back as %q", c.in, back)
		}
	}
}

func trimLSN(s string) string {
	// PostgreSQL prints LSNs without leading zeros: 1A/F.
	if s == "orders:1A/0000000F" {
		return "1A/F"
	}
	return s[len("orders:"):]
}

func TestReached(t *testing.T) {
	mongo := minPosition{Source: "users", Pos: debezium.Position{Hi: 100, Lo: 5}, Form: formMongo}
	mark := func(p int32, hi, lo, offset int64) projector.Watermark {
		return projector.Watermark{Partition: p, Position: debezium.Position{Hi: hi, Lo: lo}, Offset: offset}
	}
	for _, c := range []struct {
		name  string
		marks []projector.Watermark
		ends  map[int32]int64
		want  bool
	}{
		{"every partition past it", []projector.Watermark{mark(0, 100, 5, 3), mark(1, 101, 0, 9)}, map[int32]int64{0: 10, 1: 10}, true},
		{"same second, earlier ordinal", []projector.Watermark{mark(0, 100, 4, 3), mark(1, 101, 0, 9)}, map[int32]int64{0: 10, 1: 10}, false},
		{"behind but caught up", []projector.Watermark{mark(0, 90, 0, 10), mark(1, 101, 0, 9)}, map[int32]int64{0: 10, 1: 10}, true},
		{"empty partition", []projector.Watermark{mark(0, 100, 6, 3)}, map[int32]int64{0: 10, 1: 0}, true},
		{"partition never projected", []projector.Watermark{mark(0, 100, 6, 3)}, map[int32]int64{0: 10, 1: 4}, false},
		{"no Kafka: positions only", []projector.Watermark{mark(0, 100, 6, 3), mark(1, 99, 0, 3)}, nil, false},
		{"no Kafka, all past", []projector.Watermark{mark(0, 100, 6, 3), mark(1, 100, 5, 3)}, nil, true},
		{"no Kafka, nothing projected", nil, nil, false},
	} {
		got, prog := reached(mongo, c.marks, c.ends)
		if got != c.want {
			t.Errorf("%s: reached = %v, want %v (%+v)", c.name, got, c.want, prog)
		}
		if prog.Requested != "100:5" {
			t.Errorf("%s: requested printed as %q", c.name, prog.Requested)
		}
	}
}
