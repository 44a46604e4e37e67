package query

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// TestR32kSearchDateNanosWholeSecondIsNotWidened: review 32f writes a
// timestamp filter with every digit of its fraction, because
// Elasticsearch reads the components a gt or lte bound (or a term) leaves
// out as their maximum; but only for a target mapped "date"
// (esValue: t.Type == "date"). A timestamp a view maps as date_nanos
// (mappings: { created_at: { type: date_nanos } }, which validation
// accepts) is parsed by the same DateFieldMapper with the same rounding,
// at nanosecond resolution: created_at=…10:00:00Z still matches the whole
// second [10:00:00.000000000, 10:00:00.999999999], lte takes a doc at
// 10:00:00.5 and gt drops it. Every bound and term sent for a timestamp
// must carry its fraction on a date_nanos field too.
func TestR32kSearchDateNanosWholeSecondIsNotWidened(t *testing.T) {
	yaml := strings.Replace(unitYAML, "elasticsearch: {}",
		"elasticsearch: { mappings: { created_at: { type: date_nanos } } }", 1)
	cfg, err := config.Parse("unit.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	views, err := catalog(cfg, plan)
	if err != nil {
		t.Fatal(err)
	}
	v := views["orders"]
	const at = "2024-05-01T10:00:00Z"
	fraction := regexp.MustCompile(`T\d\d:\d\d:\d\d\.\d`)
	for _, param := range []string{"created_at", "created_at[lte]", "created_at[gt]"} {
		req, err := searchBody(v, url.Values{param: {at}})
		if err != nil {
			t.Fatalf("%s=%s: %v", param, at, err)
		}
		b, _ := json.Marshal(req.body["query"])
		sent := regexp.MustCompile(`"\d{4}-\d\d-\d\dT[^"]*"`).FindAllString(string(b), -1)
		if len(sent) == 0 {
			t.Fatalf("%s=%s: no timestamp in the query %s", param, at, b)
		}
		for _, s := range sent {
			if !fraction.MatchString(s) {
				t.Errorf("%s=%s sends %s to a date_nanos field: Elasticsearch fills the missing fraction with .999999999 for a term, gt or lte, so the filter covers the whole second; want every digit of the fraction (query %s)",
					param, at, s, b)
			}
		}
	}
}
