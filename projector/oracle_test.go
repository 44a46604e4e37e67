package projector_test

// A semantic check of the projection language against a SQL oracle
// (DESIGN.md invariant 7): a random workload over view shapes other than
// the shop's, delivered as real Debezium JSON records (JsonConverter with
// schemas) in random order across topics, with duplicates and replays, to
// an engine on a real PostgreSQL state; once every record is processed,
// every view's documents must equal the same view computed by a plain SQL
// query over the final source rows, loaded into PostgreSQL tables.

import (
	"testing"
)

var rvViews = []rvView{
	{name: "order_view", yaml: `
  order_view:
    from: orders
    where: status != "void"
    fields:
      id: id
      status: status
      total: total
      created_at: created_at
      buyer: { one: users, on: { id: user_id }, fields: { id: id, name: name, country: country } }
      seller: { one: users, on: { id: seller_id }, column: name }
      items:
        many: items
        on: { order_id: id }
        where: qty > 0
        order_by: [-rank]
        fields:
          id: id
          qty: qty
          rank: rank
          price: price
          level: { one: stock, on: { wh: wh, sku: sku }, column: level }
          product:
            one: products
            on: { id: product_id }
            fields:
              name: name
              category:
                one: categories
                on: { id: category_id }
                fields:
                  name: name
                  parent: { one: categories, on: { id: parent_id }, column: name }
      n_items: { agg: count, of: items }
      big_qty: { agg: sum, of: items.qty, where: qty >= 3 }
      max_price: { agg: max, of: items.price }
      min_price: { agg: min, of: items.price, where: rank != nil }
      avg_price: { agg: avg, of: items.price }
      n_ranked: { agg: count, of: items.rank }
      lines: { many: lines, on: { order_id: id }, order_by: line_no, fields: { line_no: line_no, note: note } }
    sinks: { postgres: {} }
`, sql: `
WITH fi AS (SELECT * FROM items WHERE qty > 0)
SELECT o.id::text, json_build_object(
  'id', o.id, 'status', o.status, 'total', o.total, 'created_at', o.created_at,
  'buyer', (SELECT json_build_object('id', u.id, 'name', u.name, 'country', u.country) FROM users u WHERE u.id = o.user_id),
  'seller', (SELECT u.name FROM users u WHERE u.id = o.seller_id),
  'items', coalesce((SELECT json_agg(json_build_object('id', i.id, 'qty', i.qty, 'rank', i.rank, 'price', i.price,
      'level', (SELECT s.level FROM stock s WHERE s.wh = i.wh AND s.sku = i.sku),
      'product', (SELECT json_build_object('name', p.name, 'category',
          (SELECT json_build_object('name', c.name, 'parent', (SELECT c2.name FROM categories c2 WHERE c2.id = c.parent_id))
           FROM categories c WHERE c.id = p.category_id)) FROM products p WHERE p.id = i.product_id))
    ORDER BY i.rank DESC NULLS FIRST, i.id::text COLLATE "C") FROM fi i WHERE i.order_id = o.id), '[]'),
  'n_items', (SELECT count(*) FROM fi i WHERE i.order_id = o.id),
  'big_qty', (SELECT sum(i.qty) FROM fi i WHERE i.order_id = o.id AND i.qty >= 3),
  'max_price', (SELECT max(i.price) FROM fi i WHERE i.order_id = o.id),
  'min_price', (SELECT min(i.price) FROM fi i WHERE i.order_id = o.id AND i.rank IS NOT NULL),
  'avg_price', (SELECT avg(i.price) FROM fi i WHERE i.order_id = o.id),
  'n_ranked', (SELECT count(i.rank) FROM fi i WHERE i.order_id = o.id),
  'lines', coalesce((SELECT json_agg(json_build_object('line_no', l.line_no, 'note', l.note) ORDER BY l.line_no)
    FROM lines l WHERE l.order_id = o.id), '[]'))
FROM orders o WHERE o.status <> 'void'`},

	{name: "product_view", yaml: `
  product_view:
    from: products
    fields:
      id: id
      name: name
      category: { one: categories, on: { id: category_id }, column: name }
      sold:
        many: items
        on: { product_id: id }
        order_by: [qty, -id]
        fields:
          id: id
          qty: qty
          order:
            one: orders
            on: { id: order_id }
            where: status != "void"
            fields: { status: status, buyer: { one: users, on: { id: user_id }, column: name } }
      total_qty: { agg: sum, of: sold.qty }
    sinks: { postgres: {} }
`, sql: `
SELECT p.id::text, json_build_object('id', p.id, 'name', p.name,
  'category', (SELECT c.name FROM categories c WHERE c.id = p.category_id),
  'sold', coalesce((SELECT json_agg(json_build_object('id', i.id, 'qty', i.qty,
      'order', (SELECT json_build_object('status', o.status, 'buyer', (SELECT u.name FROM users u WHERE u.id = o.user_id))
                FROM orders o WHERE o.id = i.order_id AND o.status <> 'void'))
    ORDER BY i.qty ASC NULLS LAST, i.id DESC) FROM items i WHERE i.product_id = p.id), '[]'),
  'total_qty', (SELECT sum(i.qty) FROM items i WHERE i.product_id = p.id))
FROM products p`},

	{name: "user_view", yaml: `
  user_view:
    from: users
    fields:
      id: id
      name: name
      paid: { many: orders, on: { user_id: id }, where: status == "paid", order_by: [-created_at], fields: { id: id, total: total, created_at: created_at } }
      sold: { many: orders, on: { seller_id: id }, order_by: [note, total], fields: { id: id, note: note } }
      first_paid: { agg: min, of: paid.created_at }
      last_paid: { agg: max, of: paid.created_at }
      paid_sum: { agg: sum, of: paid.total }
      avg_paid: { agg: avg, of: paid.total, where: total > 50 }
      max_note: { agg: max, of: sold.note }
    sinks: { postgres: {} }
`, sql: `
WITH paid AS (SELECT * FROM orders WHERE status = 'paid')
SELECT u.id::text, json_build_object('id', u.id, 'name', u.name,
  'paid', coalesce((SELECT json_agg(json_build_object('id', o.id, 'total', o.total, 'created_at', o.created_at)
     ORDER BY o.created_at DESC NULLS FIRST, o.id::text COLLATE "C") FROM paid o WHERE o.user_id = u.id), '[]'),
  'sold', coalesce((SELECT json_agg(json_build_object('id', o.id, 'note', o.note)
     ORDER BY o.note COLLATE "C" NULLS LAST, o.total NULLS LAST, o.id::text COLLATE "C") FROM orders o WHERE o.seller_id = u.id), '[]'),
  'first_paid', (SELECT min(o.created_at) FROM paid o WHERE o.user_id = u.id),
  'last_paid', (SELECT max(o.created_at) FROM paid o WHERE o.user_id = u.id),
  'paid_sum', (SELECT sum(o.total) FROM paid o WHERE o.user_id = u.id),
  'avg_paid', (SELECT avg(o.total) FROM paid o WHERE o.user_id = u.id AND o.total > 50),
  'max_note', (SELECT max(o.note COLLATE "C") FROM orders o WHERE o.seller_id = u.id))
FROM users u`},

	{name: "category_view", yaml: `
  category_view:
    from: categories
    fields:
      id: id
      name: name
      parent: { one: categories, on: { id: parent_id }, fields: { id: id, name: name } }
      children: { many: categories, on: { parent_id: id }, order_by: name, fields: { id: id, name: name } }
      products: { many: products, on: { category_id: id }, order_by: [-price, updated_at], fields: { id: id, price: price, updated_at: updated_at } }
      n_products: { agg: count, of: products }
      max_updated: { agg: max, of: products.updated_at }
      min_price: { agg: min, of: products.price }
    sinks: { postgres: {} }
`, sql: `
SELECT c.id::text, json_build_object('id', c.id, 'name', c.name,
  'parent', (SELECT json_build_object('id', p.id, 'name', p.name) FROM categories p WHERE p.id = c.parent_id),
  'children', coalesce((SELECT json_agg(json_build_object('id', k.id, 'name', k.name)
     ORDER BY k.name COLLATE "C" NULLS LAST, k.id::text COLLATE "C") FROM categories k WHERE k.parent_id = c.id), '[]'),
  'products', coalesce((SELECT json_agg(json_build_object('id', p.id, 'price', p.price, 'updated_at', p.updated_at)
     ORDER BY p.price DESC NULLS FIRST, p.updated_at ASC NULLS LAST, p.id::text COLLATE "C") FROM products p WHERE p.category_id = c.id), '[]'),
  'n_products', (SELECT count(*) FROM products p WHERE p.category_id = c.id),
  'max_updated', (SELECT max(p.updated_at) FROM products p WHERE p.category_id = c.id),
  'min_price', (SELECT min(p.price) FROM products p WHERE p.category_id = c.id))
FROM categories c`},

	{name: "region_status_stats", yaml: `
  region_status_stats:
    from: orders
    where: status != "void"
    group_by: [region, status]
    fields:
      region: region
      status: status
      n: { agg: count }
      n_notes: { agg: count, of: note }
      total: { agg: sum, of: total }
      avg_total: { agg: avg, of: total }
      min_created: { agg: min, of: created_at }
      max_created: { agg: max, of: created_at }
      min_note: { agg: min, of: note }
      max_total: { agg: max, of: total }
      big: { agg: count, where: total > 100 }
    sinks: { postgres: {} }
`, sql: `
SELECT region, status, json_build_object('region', region, 'status', status, 'n', count(*), 'n_notes', count(note),
  'total', sum(total), 'avg_total', avg(total), 'min_created', min(created_at), 'max_created', max(created_at),
  'min_note', min(note COLLATE "C"), 'max_total', max(total), 'big', count(*) FILTER (WHERE total > 100))
FROM orders WHERE status <> 'void' AND region IS NOT NULL AND status IS NOT NULL GROUP BY region, status`},

	{name: "item_stats", yaml: `
  item_stats:
    from: items
    where: qty > 0
    group_by: product_id
    fields:
      product_id: product_id
      n: { agg: count }
      qty: { agg: sum, of: qty }
      avg_qty: { agg: avg, of: qty }
      min_price: { agg: min, of: price }
      max_price: { agg: max, of: price }
      min_rank: { agg: min, of: rank, where: price != nil }
    sinks: { postgres: {} }
`, sql: `
SELECT product_id::text, json_build_object('product_id', product_id, 'n', count(*), 'qty', sum(qty), 'avg_qty', avg(qty),
  'min_price', min(price), 'max_price', max(price), 'min_rank', min(rank) FILTER (WHERE price IS NOT NULL))
FROM items WHERE qty > 0 AND product_id IS NOT NULL GROUP BY product_id`},
}

const rvOracleDDL = `
SET search_path = oracle;
CREATE TABLE categories (id bigint PRIMARY KEY, name text, parent_id bigint);
CREATE TABLE products (id bigint PRIMARY KEY, name text, category_id bigint, price numeric(10,2), updated_at timestamptz);
CREATE TABLE users (id bigint PRIMARY KEY, name text, country text);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, seller_id bigint, status text, region text, total numeric(10,2), created_at timestamptz, note text);
CREATE TABLE items (id bigint PRIMARY KEY, order_id bigint, product_id bigint, qty integer, rank integer, price numeric(10,2), wh text, sku text);
CREATE TABLE stock (wh text, sku text, level integer, PRIMARY KEY (wh, sku));
CREATE TABLE lines (order_id bigint, line_no integer, note text, PRIMARY KEY (order_id, line_no));
`

// TestOracleAllViews runs every view shape together over one random
// workload (seed from $PROJECTOR_ORACLE_SEED, else fixed).
func TestOracleAllViews(t *testing.T) {
	seed := rvSeed(t, 1)
	t.Logf("seed %d", seed)
	rvReport(t, seed, rvRun(t, seed, 3000, rvViews, 150))
}

// rvViews2 are more shapes: a one-to-one join matching several rows (the
// first in key-as-text order), one with a where, joins on timestamps and
// across integer widths, aggregates in a nested level, an aggregate whose
// where reads a column the items do not show, expr-lang null semantics in
// wheres, group_by on a numeric, on a timestamp and on part of a
// composite key.
var rvViews2 = []rvView{
	{name: "user2_view", yaml: `
  user2_view:
    from: users
    fields:
      id: id
      any_order: { one: orders, on: { user_id: id }, column: id }
      paid_order: { one: orders, on: { user_id: id }, where: status == "paid", fields: { id: id, total: total } }
      not_a: { many: orders, on: { user_id: id }, where: note != "a", order_by: [-note, -total], fields: { id: id, note: note } }
      n_not_a: { agg: count, of: not_a }
      n_b: { agg: count, of: not_a, where: region == "eu" }
      sum_b: { agg: sum, of: not_a.id, where: total < 60 }
    sinks: { postgres: {} }
`, sql: `
SELECT u.id::text, json_build_object('id', u.id,
  'any_order', (SELECT o.id FROM orders o WHERE o.user_id = u.id ORDER BY o.id::text COLLATE "C" LIMIT 1),
  'paid_order', (SELECT json_build_object('id', o.id, 'total', o.total) FROM orders o WHERE o.user_id = u.id AND o.status = 'paid' ORDER BY o.id::text COLLATE "C" LIMIT 1),
  'not_a', coalesce((SELECT json_agg(json_build_object('id', o.id, 'note', o.note) ORDER BY o.note COLLATE "C" DESC NULLS FIRST, o.total DESC NULLS FIRST, o.id::text COLLATE "C")
     FROM orders o WHERE o.user_id = u.id AND o.note <> 'a'), '[]'),
  'n_not_a', (SELECT count(*) FROM orders o WHERE o.user_id = u.id AND o.note <> 'a'),
  'n_b', (SELECT count(*) FROM orders o WHERE o.user_id = u.id AND o.note <> 'a' AND o.region = 'eu'),
  'sum_b', (SELECT sum(o.id) FROM orders o WHERE o.user_id = u.id AND o.note <> 'a' AND o.total < 60))
FROM users u`},

	{name: "order2_view", yaml: `
  order2_view:
    from: orders
    fields:
      id: id
      same_time: { many: products, on: { updated_at: created_at }, order_by: id, fields: { id: id } }
      items:
        many: items
        on: { order_id: id }
        order_by: [rank, price]
        fields:
          id: id
          rank_cat: { one: categories, on: { id: rank }, column: name }
          qty: qty
      a_items: { agg: count, of: items, where: wh == "a" }
      a_qty: { agg: max, of: items.qty, where: sku != "s1" }
    sinks: { postgres: {} }
`, sql: `
SELECT o.id::text, json_build_object('id', o.id,
  'same_time', coalesce((SELECT json_agg(json_build_object('id', p.id) ORDER BY p.id) FROM products p WHERE p.updated_at = o.created_at), '[]'),
  'items', coalesce((SELECT json_agg(json_build_object('id', i.id, 'rank_cat', (SELECT c.name FROM categories c WHERE c.id = i.rank), 'qty', i.qty)
     ORDER BY i.rank NULLS LAST, i.price NULLS LAST, i.id::text COLLATE "C") FROM items i WHERE i.order_id = o.id), '[]'),
  'a_items', (SELECT count(*) FROM items i WHERE i.order_id = o.id AND i.wh = 'a'),
  'a_qty', (SELECT max(i.qty) FROM items i WHERE i.order_id = o.id AND i.sku <> 's1'))
FROM orders o`},

	{name: "category2_view", yaml: `
  category2_view:
    from: categories
    where: name != "delta"
    fields:
      id: id
      products:
        many: products
        on: { category_id: id }
        order_by: id
        fields:
          id: id
          sold: { many: items, on: { product_id: id }, where: qty > 0, order_by: id, fields: { id: id, qty: qty, order: { one: orders, on: { id: order_id }, column: status } } }
          n_sold: { agg: count, of: sold, where: qty > 2 }
          max_qty: { agg: max, of: sold.qty }
          avg_qty: { agg: avg, of: sold.qty }
      n_products: { agg: count, of: products }
    sinks: { postgres: {} }
`, sql: `
SELECT c.id::text, json_build_object('id', c.id,
  'products', coalesce((SELECT json_agg(json_build_object('id', p.id,
      'sold', coalesce((SELECT json_agg(json_build_object('id', i.id, 'qty', i.qty, 'order', (SELECT o.status FROM orders o WHERE o.id = i.order_id)) ORDER BY i.id)
         FROM items i WHERE i.product_id = p.id AND i.qty > 0), '[]'),
      'n_sold', (SELECT count(*) FROM items i WHERE i.product_id = p.id AND i.qty > 0 AND i.qty > 2),
      'max_qty', (SELECT max(i.qty) FROM items i WHERE i.product_id = p.id AND i.qty > 0),
      'avg_qty', (SELECT avg(i.qty) FROM items i WHERE i.product_id = p.id AND i.qty > 0)) ORDER BY p.id)
    FROM products p WHERE p.category_id = c.id), '[]'),
  'n_products', (SELECT count(*) FROM products p WHERE p.category_id = c.id))
FROM categories c WHERE c.name <> 'delta'`},

	{name: "total_stats", yaml: `
  total_stats:
    from: orders
    group_by: total
    fields: { total: total, n: { agg: count }, max_created: { agg: max, of: created_at }, min_user: { agg: min, of: user_id } }
    sinks: { postgres: {} }
`, sql: `
SELECT total::text, json_build_object('total', total, 'n', count(*), 'max_created', max(created_at), 'min_user', min(user_id))
FROM orders WHERE total IS NOT NULL GROUP BY total`},

	{name: "time_stats", yaml: `
  time_stats:
    from: orders
    where: status == "paid" || status == "shipped"
    group_by: [created_at, status]
    fields: { created_at: created_at, status: status, n: { agg: count }, sum_total: { agg: sum, of: total }, max_note: { agg: max, of: note } }
    sinks: { postgres: {} }
`, sql: `
SELECT regexp_replace(to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), '\.?0+$', '') || 'Z', status, json_build_object('created_at', created_at, 'status', status, 'n', count(*), 'sum_total', sum(total), 'max_note', max(note COLLATE "C"))
FROM orders WHERE status IN ('paid', 'shipped') AND created_at IS NOT NULL GROUP BY created_at, status`},

	{name: "line_stats", yaml: `
  line_stats:
    from: lines
    group_by: [note, order_id]
    fields: { note: note, order_id: order_id, n: { agg: count }, max_line: { agg: max, of: line_no }, avg_line: { agg: avg, of: line_no } }
    sinks: { postgres: {} }
`, sql: `
SELECT note, order_id::text, json_build_object('note', note, 'order_id', order_id, 'n', count(*), 'max_line', max(line_no), 'avg_line', avg(line_no))
FROM lines WHERE note IS NOT NULL GROUP BY note, order_id`},
}

func TestOracleMoreViews(t *testing.T) {
	seed := rvSeed(t, 1)
	t.Logf("seed %d", seed)
	rvReport(t, seed, rvRun(t, seed, 3000, rvViews2, 150))
}

// rvViews3: aggregates over nested arrays whose items' fields are not
// columns of the array's own source: one-to-one join columns (timestamps,
// numerics, text) and expressions.
var rvViews3 = []rvView{
	{name: "order3_view", yaml: `
  order3_view:
    from: orders
    fields:
      id: id
      items:
        many: items
        on: { order_id: id }
        order_by: id
        fields:
          id: id
          upd: { one: products, on: { id: product_id }, column: updated_at }
          pprice: { one: products, on: { id: product_id }, column: price }
          pname: { one: products, on: { id: product_id }, column: name }
          created: { one: orders, on: { id: order_id }, column: created_at }
          twice: { expr: "qty * 2", type: bigint }
      max_upd: { agg: max, of: items.upd }
      min_upd: { agg: min, of: items.upd }
      max_pprice: { agg: max, of: items.pprice }
      min_pprice: { agg: min, of: items.pprice }
      sum_pprice: { agg: sum, of: items.pprice }
      avg_pprice: { agg: avg, of: items.pprice }
      max_pname: { agg: max, of: items.pname }
      n_upd: { agg: count, of: items.upd }
      min_created: { agg: min, of: items.created }
      sum_twice: { agg: sum, of: items.twice }
      max_twice: { agg: max, of: items.twice }
    sinks: { postgres: {} }
`, sql: `
WITH x AS (SELECT i.id, i.order_id, p.updated_at AS upd, p.price AS pprice, p.name AS pname, o2.created_at AS created, i.qty * 2 AS twice
           FROM items i LEFT JOIN products p ON p.id = i.product_id LEFT JOIN orders o2 ON o2.id = i.order_id)
SELECT o.id::text, json_build_object('id', o.id,
  'items', coalesce((SELECT json_agg(json_build_object('id', x.id, 'upd', x.upd, 'pprice', x.pprice, 'pname', x.pname, 'created', x.created, 'twice', x.twice) ORDER BY x.id)
     FROM x WHERE x.order_id = o.id), '[]'),
  'max_upd', (SELECT max(upd) FROM x WHERE x.order_id = o.id),
  'min_upd', (SELECT min(upd) FROM x WHERE x.order_id = o.id),
  'max_pprice', (SELECT max(pprice) FROM x WHERE x.order_id = o.id),
  'min_pprice', (SELECT min(pprice) FROM x WHERE x.order_id = o.id),
  'sum_pprice', (SELECT sum(pprice) FROM x WHERE x.order_id = o.id),
  'avg_pprice', (SELECT avg(pprice) FROM x WHERE x.order_id = o.id),
  'max_pname', (SELECT max(pname COLLATE "C") FROM x WHERE x.order_id = o.id),
  'n_upd', (SELECT count(upd) FROM x WHERE x.order_id = o.id),
  'min_created', (SELECT min(created) FROM x WHERE x.order_id = o.id),
  'sum_twice', (SELECT sum(twice) FROM x WHERE x.order_id = o.id),
  'max_twice', (SELECT max(twice) FROM x WHERE x.order_id = o.id))
FROM orders o`},
}

func TestOracleNestedAggOfJoinedFields(t *testing.T) {
	seed := rvSeed(t, 1)
	t.Logf("seed %d", seed)
	rvReport(t, seed, rvRun(t, seed, 3000, rvViews3, 150))
}

// rvViews4: views rooted at sources with composite keys, with joins out of
// and into them on composite columns.
var rvViews4 = []rvView{
	{name: "line_view", yaml: `
  line_view:
    from: lines
    where: note != "z"
    fields:
      order_id: order_id
      line_no: line_no
      note: note
      order: { one: orders, on: { id: order_id }, fields: { status: status, buyer: { one: users, on: { id: user_id }, column: name } } }
      siblings: { many: lines, on: { order_id: order_id }, order_by: [-line_no], fields: { line_no: line_no } }
      n_siblings: { agg: count, of: siblings }
    sinks: { postgres: {} }
`, sql: `
SELECT l.order_id::text, l.line_no::text, json_build_object('order_id', l.order_id, 'line_no', l.line_no, 'note', l.note,
  'order', (SELECT json_build_object('status', o.status, 'buyer', (SELECT u.name FROM users u WHERE u.id = o.user_id)) FROM orders o WHERE o.id = l.order_id),
  'siblings', coalesce((SELECT json_agg(json_build_object('line_no', s.line_no) ORDER BY s.line_no DESC) FROM lines s WHERE s.order_id = l.order_id), '[]'),
  'n_siblings', (SELECT count(*) FROM lines s WHERE s.order_id = l.order_id))
FROM lines l WHERE l.note <> 'z'`},

	{name: "stock_view", yaml: `
  stock_view:
    from: stock
    fields:
      wh: wh
      sku: sku
      level: level
      items: { many: items, on: { sku: sku, wh: wh }, order_by: [-qty], fields: { id: id, qty: qty, status: { one: orders, on: { id: order_id }, column: status } } }
      qty: { agg: sum, of: items.qty }
      paid: { agg: count, of: items, where: qty > 1 }
    sinks: { postgres: {} }
`, sql: `
SELECT s.wh, s.sku, json_build_object('wh', s.wh, 'sku', s.sku, 'level', s.level,
  'items', coalesce((SELECT json_agg(json_build_object('id', i.id, 'qty', i.qty, 'status', (SELECT o.status FROM orders o WHERE o.id = i.order_id))
     ORDER BY i.qty DESC NULLS FIRST, i.id::text COLLATE "C") FROM items i WHERE i.wh = s.wh AND i.sku = s.sku), '[]'),
  'qty', (SELECT sum(i.qty) FROM items i WHERE i.wh = s.wh AND i.sku = s.sku),
  'paid', (SELECT count(*) FROM items i WHERE i.wh = s.wh AND i.sku = s.sku AND i.qty > 1))
FROM stock s`},
}

func TestOracleCompositeRoots(t *testing.T) {
	seed := rvSeed(t, 1)
	t.Logf("seed %d", seed)
	rvReport(t, seed, rvRun(t, seed, 3000, rvViews4, 150))
}

// rvViews5: expressions over the fields before them (a joined column, an
// aggregate over a nested array) and over timestamps.
var rvViews5 = []rvView{
	{name: "order5_view", yaml: `
  order5_view:
    from: orders
    where: created_at != nil && created_at > date("2024-03-01T12:00:01Z")
    fields:
      id: id
      seller: { one: users, on: { id: seller_id }, column: name }
      items: { many: items, on: { order_id: id }, order_by: id, fields: { id: id, qty: qty } }
      n: { agg: count, of: items }
      q: { agg: sum, of: items.qty }
      has_seller: { expr: "seller != nil", type: boolean }
      q2: { expr: "q == nil ? nil : q * 2", type: numeric }
      many_items: { expr: "n > 1", type: boolean }
    sinks: { postgres: {} }
`, sql: `
SELECT o.id::text, json_build_object('id', o.id,
  'seller', (SELECT u.name FROM users u WHERE u.id = o.seller_id),
  'items', coalesce((SELECT json_agg(json_build_object('id', i.id, 'qty', i.qty) ORDER BY i.id) FROM items i WHERE i.order_id = o.id), '[]'),
  'n', (SELECT count(*) FROM items i WHERE i.order_id = o.id),
  'q', (SELECT sum(i.qty) FROM items i WHERE i.order_id = o.id),
  'has_seller', (SELECT u.name FROM users u WHERE u.id = o.seller_id) IS NOT NULL,
  'q2', (SELECT sum(i.qty) * 2 FROM items i WHERE i.order_id = o.id),
  'many_items', (SELECT count(*) FROM items i WHERE i.order_id = o.id) > 1)
FROM orders o WHERE o.created_at > '2024-03-01T12:00:01Z'`},
}

func TestOracleExprOverFields(t *testing.T) {
	seed := rvSeed(t, 1)
	t.Logf("seed %d", seed)
	rvReport(t, seed, rvRun(t, seed, 3000, rvViews5, 150))
}
