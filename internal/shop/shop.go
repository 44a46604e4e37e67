// Package shop generates the example shop's Debezium change streams: users
// in MongoDB; products, orders and order items in PostgreSQL. It is
// deterministic for a seed and keeps the source rows it produced, so tests
// can compare the views with a plain join over the final rows (the oracle).
package shop

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// UserDoc is a MongoDB users document.
type UserDoc struct{ Name, Email, Status string }

// Product is a row of products.
type Product struct {
	ID        int64
	Name      string
	Price     decimal.Decimal
	Category  string
	UpdatedAt time.Time
}

// Order is a row of orders.
type Order struct {
	ID        int64
	UserID    string // a user's ObjectId hex
	Status    string
	Total     decimal.Decimal
	CreatedAt time.Time
}

// Item is a row of order_items.
type Item struct {
	ID, OrderID, ProductID int64
	Quantity               int32
	UnitPrice              decimal.Decimal
}

// User is a users document by id; Doc is nil once deleted.
type User struct {
	ID  string
	Doc *UserDoc
}

// Shop is the current content of the source databases.
type Shop struct {
	Users    map[string]*UserDoc
	Products map[int64]*Product
	Orders   map[int64]*Order
	Items    map[int64]*Item
}

// Generator makes a shop and its change stream.
type Generator struct {
	rnd   *rand.Rand
	Shop  Shop
	lsn   int64
	txID  int64
	clock time.Time
	ord   int64
	// ids of all users ever created (deleted ones may come back).
	userIDs []string
	next    struct{ product, order, item int64 }
}

// New returns a generator for seed.
func New(seed uint64) *Generator {
	return &Generator{
		rnd:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		Shop:  Shop{Users: map[string]*UserDoc{}, Products: map[int64]*Product{}, Orders: map[int64]*Order{}, Items: map[int64]*Item{}},
		lsn:   24_000_000,
		txID:  700,
		clock: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC),
	}
}

var (
	firstNames = []string{"Sally", "George", "Edward", "Anne", "Ada", "Linus", "Grace", "Barbara", "Ken", "Margaret"}
	lastNames  = []string{"Thomas", "Bailey", "Walker", "Kretchmar", "Lovelace", "Hopper", "Liskov", "Thompson", "Hamilton"}
	categories = []string{"books", "games", "garden", "kitchen", "tools"}
	things     = []string{"scooter", "car battery", "drill bits", "hammer", "rocks", "spare tire", "teapot", "lamp", "chair", "novel"}
	statuses   = []string{"new", "paid", "shipped", "delivered"}
)

func (g *Generator) tick() (lsn, tx, tsMs int64) {
	g.lsn += 56 + int64(g.rnd.IntN(200))
	g.txID++
	g.clock = g.clock.Add(time.Duration(1+g.rnd.IntN(2000)) * time.Millisecond)
	return g.lsn, g.txID, g.clock.UnixMilli()
}

func (g *Generator) money(lo, hi int) decimal.Decimal {
	return decimal.New(int64(lo*100+g.rnd.IntN((hi-lo)*100)), -2)
}

func (g *Generator) newUserID() string {
	return fmt.Sprintf("%08x%016x", uint32(g.clock.Unix()), g.rnd.Uint64())
}

func (g *Generator) userDoc() *UserDoc {
	f, l := firstNames[g.rnd.IntN(len(firstNames))], lastNames[g.rnd.IntN(len(lastNames))]
	st := "active"
	if g.rnd.IntN(5) == 0 {
		st = "inactive"
	}
	return &UserDoc{Name: f + " " + l, Email: fmt.Sprintf("%s.%s%d@example.com", f, l, g.rnd.IntN(1000)), Status: st}
}

// Snapshot creates a shop of the given size and returns its snapshot
// records (op "r"), the way a connector's initial snapshot emits them.
func (g *Generator) Snapshot(users, products, orders, maxItems int) []Message {
	var out []Message
	for i := 0; i < users; i++ {
		id := g.newUserID()
		g.userIDs = append(g.userIDs, id)
		g.Shop.Users[id] = g.userDoc()
		g.ord++
		out = append(out, mongoMessage("r", &User{ID: id, Doc: g.Shop.Users[id]}, g.clock.Unix(), g.ord, snapshotMarker(i, users)))
	}
	lsn, tx, ts := g.tick()
	for i := 0; i < products; i++ {
		p := g.newProduct()
		out = append(out, pgMessage(productsTable, "r", p.ID, nil, productRow(p), lsn, tx, ts, snapshotMarker(i, products)))
	}
	var items []*Item
	for i := 0; i < orders; i++ {
		o := g.newOrder()
		out = append(out, pgMessage(ordersTable, "r", o.ID, nil, orderRow(o), lsn, tx, ts, snapshotMarker(i, orders)))
		for n := g.rnd.IntN(maxItems + 1); n > 0; n-- {
			items = append(items, g.newItem(o.ID))
		}
	}
	for i, it := range items {
		out = append(out, pgMessage(itemsTable, "r", it.ID, nil, itemRow(it), lsn, tx, ts, snapshotMarker(i, len(items))))
	}
	return out
}

func snapshotMarker(i, n int) string {
	switch {
	case i == 0:
		return "first"
	case i == n-1:
		return "last"
	}
	return "true"
}

func (g *Generator) newProduct() *Product {
	g.next.product++
	p := &Product{ID: g.next.product, Name: things[g.rnd.IntN(len(things))], Price: g.money(1, 200),
		Category: categories[g.rnd.IntN(len(categories))], UpdatedAt: g.clock.Truncate(time.Microsecond)}
	g.Shop.Products[p.ID] = p
	return p
}

func (g *Generator) anyUserID() string {
	if len(g.userIDs) == 0 || g.rnd.IntN(50) == 0 {
		return g.newUserID() // an order of a user that does not exist (yet)
	}
	return g.userIDs[g.rnd.IntN(len(g.userIDs))]
}

func (g *Generator) newOrder() *Order {
	g.next.order++
	o := &Order{ID: g.next.order, UserID: g.anyUserID(), Status: statuses[g.rnd.IntN(len(statuses))],
		Total: g.money(5, 500), CreatedAt: g.clock.Truncate(time.Microsecond)}
	g.Shop.Orders[o.ID] = o
	return o
}

func (g *Generator) newItem(orderID int64) *Item {
	g.next.item++
	pid := int64(1 + g.rnd.IntN(int(max(g.next.product, 1))+1)) // now and then a product that does not exist
	it := &Item{ID: g.next.item, OrderID: orderID, ProductID: pid, Quantity: int32(1 + g.rnd.IntN(5)), UnitPrice: g.money(1, 200)}
	g.Shop.Items[it.ID] = it
	return it
}

func productRow(p *Product) map[string]any {
	return map[string]any{"id": p.ID, "name": p.Name, "price": p.Price, "category": p.Category, "updated_at": p.UpdatedAt}
}

func orderRow(o *Order) map[string]any {
	return map[string]any{"id": o.ID, "user_id": o.UserID, "status": o.Status, "total_amount": o.Total, "created_at": o.CreatedAt}
}

func itemRow(it *Item) map[string]any {
	return map[string]any{"id": it.ID, "order_id": it.OrderID, "product_id": it.ProductID, "quantity": it.Quantity, "unit_price": it.UnitPrice}
}

// Changes makes n random changes to the shop — inserts, updates, deletes,
// items moving between orders, users deleted and created again, orders
// cancelled and restored — and returns their records, with a tombstone after
// every PostgreSQL delete, as the connector writes them.
func (g *Generator) Changes(n int) []Message {
	var out []Message
	for len(out) < n {
		out = append(out, g.change()...)
	}
	return out
}

func (g *Generator) change() []Message {
	lsn, tx, ts := g.tick()
	switch r := g.rnd.IntN(100); {
	case r < 10: // a user changes, is deleted, or comes back
		id := g.anyUserID()
		g.ord++
		if doc, ok := g.Shop.Users[id]; ok && g.rnd.IntN(4) == 0 {
			delete(g.Shop.Users, id)
			_ = doc
			return []Message{mongoMessage("d", &User{ID: id}, g.clock.Unix(), g.ord, "false")}
		}
		op := "u"
		if _, ok := g.Shop.Users[id]; !ok {
			op = "c"
			if !contains(g.userIDs, id) {
				g.userIDs = append(g.userIDs, id)
			}
		}
		g.Shop.Users[id] = g.userDoc()
		return []Message{mongoMessage(op, &User{ID: id, Doc: g.Shop.Users[id]}, g.clock.Unix(), g.ord, "false")}
	case r < 15: // a product is created, repriced or renamed, or deleted
		if len(g.Shop.Products) == 0 || g.rnd.IntN(3) == 0 {
			p := g.newProduct()
			return []Message{pgMessage(productsTable, "c", p.ID, nil, productRow(p), lsn, tx, ts, "false")}
		}
		p := g.Shop.Products[g.pick(keys(g.Shop.Products))]
		if g.rnd.IntN(10) == 0 {
			delete(g.Shop.Products, p.ID)
			return []Message{pgMessage(productsTable, "d", p.ID, map[string]any{"id": p.ID}, nil, lsn, tx, ts, "false"), pgTombstone(productsTable, p.ID)}
		}
		p.Price, p.Name, p.UpdatedAt = g.money(1, 200), things[g.rnd.IntN(len(things))], g.clock.Truncate(time.Microsecond)
		return []Message{pgMessage(productsTable, "u", p.ID, nil, productRow(p), lsn, tx, ts, "false")}
	case r < 40: // an order is placed, changes status, is cancelled or restored, moves to another user, or is deleted
		if len(g.Shop.Orders) == 0 || g.rnd.IntN(3) == 0 {
			o := g.newOrder()
			return []Message{pgMessage(ordersTable, "c", o.ID, nil, orderRow(o), lsn, tx, ts, "false")}
		}
		o := g.Shop.Orders[g.pick(keys(g.Shop.Orders))]
		switch g.rnd.IntN(10) {
		case 0:
			delete(g.Shop.Orders, o.ID)
			return []Message{pgMessage(ordersTable, "d", o.ID, map[string]any{"id": o.ID}, nil, lsn, tx, ts, "false"), pgTombstone(ordersTable, o.ID)}
		case 1, 2:
			if o.Status == "cancelled" {
				o.Status = "paid"
			} else {
				o.Status = "cancelled"
			}
		case 3:
			o.UserID = g.anyUserID()
		default:
			o.Status = statuses[g.rnd.IntN(len(statuses))]
			o.Total = g.money(5, 500)
		}
		return []Message{pgMessage(ordersTable, "u", o.ID, nil, orderRow(o), lsn, tx, ts, "false")}
	default: // an item is added, changed, moved to another order, or removed
		if len(g.Shop.Items) == 0 || g.rnd.IntN(3) == 0 {
			oid := int64(1 + g.rnd.IntN(int(max(g.next.order, 1))))
			it := g.newItem(oid)
			return []Message{pgMessage(itemsTable, "c", it.ID, nil, itemRow(it), lsn, tx, ts, "false")}
		}
		it := g.Shop.Items[g.pick(keys(g.Shop.Items))]
		switch g.rnd.IntN(6) {
		case 0:
			delete(g.Shop.Items, it.ID)
			return []Message{pgMessage(itemsTable, "d", it.ID, map[string]any{"id": it.ID}, nil, lsn, tx, ts, "false"), pgTombstone(itemsTable, it.ID)}
		case 1:
			it.OrderID = int64(1 + g.rnd.IntN(int(max(g.next.order, 1))))
		default:
			it.Quantity = int32(1 + g.rnd.IntN(5))
		}
		return []Message{pgMessage(itemsTable, "u", it.ID, nil, itemRow(it), lsn, tx, ts, "false")}
	}
}

func (g *Generator) pick(ids []int64) int64 { return ids[g.rnd.IntN(len(ids))] }

// keys returns the map's keys sorted, so that picks are deterministic.
func keys[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
