package query

import (
	"encoding/json"
	"net/url"
	"regexp"
	"testing"
	"time"
)

// r32fESMillis is the epoch millisecond Elasticsearch reads a date string
// as, with its default format strict_date_optional_time: parsed rounding
// up (a gt or lte bound, and the upper end of a term, which on a date field
// is rangeQuery(v, v, true, true)), every component the text leaves out is
// filled with its maximum — NANO_OF_SECOND 999_999_999 when there is no
// fraction, and the time of day 23:59:59.999999999 when there is no time
// (DateFieldMapper.dateRangeQuery, JavaDateFormatter's DEFAULT_ROUND_UP;
// "Missing date components" in the range query's documentation).
func r32fESMillis(t *testing.T, s string, roundUp bool) int64 {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d, derr := time.Parse(time.DateOnly, s)
		if derr != nil {
			t.Fatalf("Elasticsearch date %q does not parse: %v", s, err)
		}
		if roundUp {
			d = d.Add(24*time.Hour - time.Nanosecond)
		}
		return d.UnixMilli()
	}
	if roundUp && !regexp.MustCompile(`T\d\d:\d\d:\d\d\.\d`).MatchString(s) {
		ts = ts.Add(time.Second - time.Nanosecond)
	}
	return ts.UnixMilli()
}

// TestR32fSearchTimestampWholeSecondIsNotWidened: a search filters
// timestamps "at that precision" (the millisecond): at=…10:00:00Z must find
// the docs of that millisecond, at[lte]=…10:00:00Z those up to it and
// at[gt]=…10:00:00Z those after it, as a list does at its microsecond.
// searchBody sends the canonical value, time.RFC3339Nano, which writes no
// fraction for a whole second ("2024-05-01T10:00:00Z") and only midnight for a
// date alone. Elasticsearch fills a missing fraction with .999999999 when it
// parses a gt or lte bound, or a term (a range from the value rounded down to
// the value rounded up): at=…10:00:00Z then matches the whole second
// [10:00:00.000, 10:00:00.999], lte takes a doc at 10:00:00.500, and gt drops
// it. The facet value a timestamp bucket reads ("2022-01-08T10:00:00Z", which
// the README says filters back) has the same problem: passed back it counts
// every doc of that second. esfake parses bounds exactly, so the suite does
// not see it (see esfake's TestR32fDateBoundsRoundUpMissingComponents).
func TestR32fSearchTimestampWholeSecondIsNotWidened(t *testing.T) {
	v := unitViews(t)["orders"]
	const at = "2024-05-01T10:00:00Z"
	want := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC).UnixMilli()
	for _, c := range []struct {
		param string
		value string
	}{
		{"created_at", at},
		{"created_at[in]", at},
		{"created_at[lte]", at},
		{"created_at[gt]", at},
		{"created_at[lte]", "2024-05-01"}, // a date alone is that midnight, as in a list
	} {
		req, err := searchBody(v, url.Values{c.param: {c.value}})
		if err != nil {
			t.Fatalf("%s=%s: %v", c.param, c.value, err)
		}
		b, _ := json.Marshal(req.body["query"])
		var q struct {
			Bool struct {
				Filter []map[string]map[string]any `json:"filter"`
			} `json:"bool"`
		}
		if err := json.Unmarshal(b, &q); err != nil || len(q.Bool.Filter) != 1 {
			t.Fatalf("%s=%s: query %s", c.param, c.value, b)
		}
		wantMs := want
		if c.value == "2024-05-01" {
			wantMs = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
		}
		for kind, body := range q.Bool.Filter[0] {
			switch kind {
			case "term", "terms":
				var vals []string
				switch x := body["created_at"].(type) {
				case string:
					vals = []string{x}
				case []any:
					for _, e := range x {
						s, _ := e.(string)
						vals = append(vals, s)
					}
				}
				for _, s := range vals {
					lo, hi := r32fESMillis(t, s, false), r32fESMillis(t, s, true)
					if lo != wantMs || hi != wantMs {
						t.Errorf("%s=%s sends %s %q: Elasticsearch matches milliseconds [%d, %d] (%s to %s), want only %d",
							c.param, c.value, kind, s, lo, hi, time.UnixMilli(lo).UTC().Format(time.RFC3339Nano),
							time.UnixMilli(hi).UTC().Format(time.RFC3339Nano), wantMs)
					}
				}
			case "range":
				bounds, _ := body["created_at"].(map[string]any)
				for op, raw := range bounds {
					s, _ := raw.(string)
					roundUp := op == "gt" || op == "lte"
					if got := r32fESMillis(t, s, roundUp); got != wantMs {
						t.Errorf("%s=%s sends range %s %q: Elasticsearch reads the bound as %s, want %s",
							c.param, c.value, op, s, time.UnixMilli(got).UTC().Format(time.RFC3339Nano),
							time.UnixMilli(wantMs).UTC().Format(time.RFC3339Nano))
					}
				}
			default:
				t.Errorf("%s=%s: unexpected filter %s", c.param, c.value, kind)
			}
		}
	}
}
