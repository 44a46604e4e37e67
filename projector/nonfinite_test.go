package projector_test

import (
	"fmt"
	"testing"

	"github.com/projectorhq/projector/projector"
)

const nonFiniteYAML = `
sources:
  readings: { topic: t.public.readings, format: json, key: id, columns: { id: bigint, sensor: text, v: numeric } }
  sensors: { topic: t.public.sensors, format: json, key: name, columns: { name: text } }
views:
  sensor_stats:
    from: readings
    group_by: sensor
    fields: { sensor: sensor, lo: { agg: min, of: v }, hi: { agg: max, of: v } }
    sinks: { postgres: {} }
  sensor_view:
    from: sensors
    fields:
      name: name
      readings: { many: readings, on: { sensor: name }, order_by: [v], fields: { id: id, v: v } }
      lo: { agg: min, of: readings.v }
    sinks: { postgres: {} }
`

// TestNegativeInfinityMinAndOrder: PostgreSQL's numeric holds -Infinity,
// which projector reads as the text "-Infinity"; min, max and order_by
// place it below every number, as PostgreSQL does, not where its text
// sorts ("-Infinity" above "-5").
func TestNegativeInfinityMinAndOrder(t *testing.T) {
	r := newReviewRig(t, nonFiniteYAML, true)
	r.process([]projector.Record{
		r.rec("sensors", "c", m("name", "s"), nil, m("name", "s"), 0),
		r.rec("readings", "c", m("id", 1), nil, m("id", 1, "sensor", "s", "v", "-5"), 0),
		r.rec("readings", "c", m("id", 2), nil, m("id", 2, "sensor", "s", "v", "-Infinity"), 0),
		r.rec("readings", "c", m("id", 3), nil, m("id", 3, "sensor", "s", "v", "-10"), 0),
	})
	r.expect("sensor_stats", map[string]string{"s": `{"lo":"-Infinity","hi":"-5"}`})
	r.expect("sensor_view", map[string]string{"s": `{"lo":"-Infinity","readings":[{"id":2,"v":"-Infinity"},{"id":3,"v":"-10"},{"id":1,"v":"-5"}]}`})
}

// TestSumSkipsInfinity: sum and avg carry a numeric Infinity (or NaN)
// as SQL's do, which aggregates behave as (README): sum(5, Infinity) is
// Infinity; it once skipped it as if it were null.
func TestSumCarriesInfinity(t *testing.T) {
	r := newReviewRig(t, `
sources:
  readings: { topic: t.public.readings, format: json, key: id, columns: { id: bigint, sensor: text, v: numeric } }
views:
  totals:
    from: readings
    group_by: sensor
    fields: { sensor: sensor, total: { agg: sum, of: v }, n: { agg: count, of: v } }
    sinks: { postgres: {} }
`, true)
	r.process([]projector.Record{
		r.rec("readings", "c", m("id", 1), nil, m("id", 1, "sensor", "s", "v", "5"), 0),
		r.rec("readings", "c", m("id", 2), nil, m("id", 2, "sensor", "s", "v", "Infinity"), 0),
	})
	for name, s := range r.sinks {
		d := s.docs["totals/s"]
		if got := fmt.Sprint(d.Fields["total"]); got != "Infinity" {
			t.Errorf("%s: sum(5, Infinity) = %s (count %v), want Infinity", name, got, d.Fields["n"])
		}
	}
}

// TestOrderByNullsAsPostgreSQL: a many-join's order_by puts rows whose
// order column is null where PostgreSQL's ORDER BY does by default: last
// ascending, first descending.
func TestOrderByNullsAsPostgreSQL(t *testing.T) {
	r := newReviewRig(t, `
sources:
  readings: { topic: t.public.readings, format: json, key: id, columns: { id: bigint, sensor: text, v: numeric } }
  sensors: { topic: t.public.sensors, format: json, key: name, columns: { name: text } }
views:
  sensor_view:
    from: sensors
    fields:
      name: name
      up: { many: readings, on: { sensor: name }, order_by: [v], fields: { id: id } }
      down: { many: readings, on: { sensor: name }, order_by: [-v], fields: { id: id } }
    sinks: { postgres: {} }
`, true)
	r.process([]projector.Record{
		r.rec("sensors", "c", m("name", "s"), nil, m("name", "s"), 0),
		r.rec("readings", "c", m("id", 1), nil, m("id", 1, "sensor", "s", "v", "2"), 0),
		r.rec("readings", "c", m("id", 2), nil, m("id", 2, "sensor", "s", "v", nil), 0),
		r.rec("readings", "c", m("id", 3), nil, m("id", 3, "sensor", "s", "v", "1"), 0),
	})
	r.expect("sensor_view", map[string]string{"s": `{"up":[{"id":3},{"id":1},{"id":2}],"down":[{"id":2},{"id":1},{"id":3}]}`})
}
