package projector_test

import "testing"

// rvViews6: group_by views with expressions over their aggregates and
// one: joins on their group_by columns (the users whose orders a group
// holds), on one group_by column and on one of two.
var rvViews6 = []rvView{
	{name: "user_stats6", yaml: `
  user_stats6:
    from: orders
    group_by: user_id
    fields:
      user_id: user_id
      n: { agg: count }
      total: { agg: sum, of: total }
      buyer: { one: users, on: { id: user_id }, fields: { name: name, country: country } }
      who: { expr: 'buyer == nil ? "nobody" : buyer.name + "/" + string(n)', type: text }
      twice: { expr: "n * 2", type: bigint }
    sinks: { postgres: {} }
`, sql: `
SELECT o.user_id::text, json_build_object('user_id', o.user_id, 'n', count(*), 'total', sum(o.total),
  'buyer', (SELECT json_build_object('name', u.name, 'country', u.country) FROM users u WHERE u.id = o.user_id),
  'who', CASE WHEN NOT EXISTS (SELECT 1 FROM users u WHERE u.id = o.user_id) THEN 'nobody'
    ELSE (SELECT u.name FROM users u WHERE u.id = o.user_id) || '/' || count(*) END,
  'twice', count(*) * 2)
FROM orders o WHERE o.user_id IS NOT NULL GROUP BY o.user_id`},

	{name: "user_status6", yaml: `
  user_status6:
    from: orders
    where: status != "void"
    group_by: [user_id, status]
    fields:
      user_id: user_id
      status: status
      n: { agg: count }
      country: { one: users, on: { id: user_id }, column: country }
    sinks: { postgres: {} }
`, sql: `
SELECT o.user_id::text, o.status, json_build_object('user_id', o.user_id, 'status', o.status, 'n', count(*),
  'country', (SELECT u.country FROM users u WHERE u.id = o.user_id))
FROM orders o WHERE o.status <> 'void' AND o.user_id IS NOT NULL AND o.status IS NOT NULL GROUP BY o.user_id, o.status`},
}

func TestOracleGroupJoins(t *testing.T) {
	seed := rvSeed(t, 1)
	t.Logf("seed %d", seed)
	rvReport(t, seed, rvRun(t, seed, 3000, rvViews6, 150))
}
