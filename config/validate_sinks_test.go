package config

import "testing"

// TestSinkOptions loads Redis indexes and Elasticsearch mapping overrides:
// the indexes in file order with their positions, and the mappings as the
// JSON-like values the Elasticsearch sink sends.
func TestSinkOptions(t *testing.T) {
	const file = "testdata/sink_options.good.yml"
	c := loadGood(t, file)
	view := get(t, c.Views, "order_view")
	es := view.Sinks.Elasticsearch
	keyword := map[string]any{"type": "keyword", "index": false, "boost": 1.5, "null_value": nil, "copy_to": []any{"all_text"}}
	runChecks(t, []check{
		{"redis indexes", view.Sinks.Redis.Indexes, []RedisIndex{
			{Pos: pos(file, 24, 13), Key: "user:{customer.id}:orders", Score: "created_at"},
			{Pos: pos(file, 26, 13), Key: "orders:by_date", Score: "created_at"},
		}},
		{"mapping order", keys(es.Mappings), []string{"status", "customer.name", "items.sku", "id"}},
		{"mapping key position", es.Mappings[1].KeyPos, pos(file, 30, 11)},
		{"flow mapping", get(t, es.Mappings, "status"), map[string]any{"type": "keyword"}},
		{"nested mapping, integer, interpolated string", get(t, es.Mappings, "customer.name"), map[string]any{
			"type": "text", "analyzer": "english",
			"fields": map[string]any{"raw": map[string]any{"type": "keyword", "ignore_above": int64(256)}},
		}},
		{"bool, float, null and list", get(t, es.Mappings, "items.sku"), keyword},
		{"alias", get(t, es.Mappings, "id"), keyword},
	})
}
