// Package shop generates the example shop's Debezium change streams: users
// in MongoDB; products, orders and order items in PostgreSQL. It is
// deterministic for a seed and keeps the source rows it produced, so tests
// can compare the views with a plain join over the final rows (the oracle).
package shop

import (
	"fmt"
	"math/rand/v2"
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
	// MongoDB positions: the oplog second and the ordinal within it.
	mongoSec, ord int64
	// userIDs holds every user id ever created or referenced by an order,
	// so that deleted users come back and users appear after their orders.
	userIDs *idSet[string]
	// live rows, and deleted ones that may be inserted again with the same id.
	products, orders, items *idSet[int64]
	cancelled               *idSet[int64] // orders
	gone                    struct{ products, orders *idSet[int64] }
	next                    struct{ product, order, item int64 }
	// Tally counts the changes made, by kind (see Changes).
	Tally map[string]int
}

// New returns a generator for seed.
func New(seed uint64) *Generator {
	g := &Generator{
		rnd:       rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		Shop:      Shop{Users: map[string]*UserDoc{}, Products: map[int64]*Product{}, Orders: map[int64]*Order{}, Items: map[int64]*Item{}},
		lsn:       24_000_000,
		txID:      700,
		clock:     time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC),
		userIDs:   newIDSet[string](),
		products:  newIDSet[int64](),
		orders:    newIDSet[int64](),
		items:     newIDSet[int64](),
		cancelled: newIDSet[int64](),
		Tally:     map[string]int{},
	}
	g.gone.products, g.gone.orders = newIDSet[int64](), newIDSet[int64]()
	return g
}

var (
	firstNames = []string{"Sally", "George", "Edward", "Anne", "Ada", "Linus", "Grace", "Barbara", "Ken", "Margaret"}
	lastNames  = []string{"Thomas", "Bailey", "Walker", "Kretchmar", "Lovelace", "Hopper", "Liskov", "Thompson", "Hamilton"}
	categories = []string{"books", "games", "garden", "kitchen", "tools"}
	things     = []string{"scooter", "car battery", "drill bits", "hammer", "rocks", "spare tire", "teapot", "lamp", "chair", "novel"}
	statuses   = []string{"new", "paid", "shipped", "delivered"}
)

// tick starts a source transaction: the clock moves on, and the LSN and
// transaction id of PostgreSQL advance.
func (g *Generator) tick() (lsn, tx, tsMs int64) {
	g.lsn += 56 + int64(g.rnd.IntN(200))
	g.txID++
	g.clock = g.clock.Add(time.Duration(1+g.rnd.IntN(2000)) * time.Millisecond)
	return g.lsn, g.txID, g.clock.UnixMilli()
}

// nextLSN is the LSN of the next row change within the current transaction.
func (g *Generator) nextLSN() int64 {
	g.lsn += 40 + int64(g.rnd.IntN(80))
	return g.lsn
}

// mongoPos is the oplog position of the next MongoDB change: the second and
// the ordinal within it, which starts again every second as in the oplog.
func (g *Generator) mongoPos() (sec, ord int64) {
	if s := g.clock.Unix(); s != g.mongoSec {
		g.mongoSec, g.ord = s, 0
	}
	g.ord++
	return g.mongoSec, g.ord
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
		g.userIDs.add(id)
		g.Shop.Users[id] = g.userDoc()
		sec, ord := g.mongoPos()
		out = append(out, mongoMessage("r", &User{ID: id, Doc: g.Shop.Users[id]}, sec, ord, snapshotMarker(i, users)))
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
	g.products.add(p.ID)
	return p
}

// anyUserID returns a known user id (created, deleted, or so far only
// referenced), and now and then a new one: an order of a user that does not
// exist yet, who may be created later.
func (g *Generator) anyUserID() string {
	if g.userIDs.len() == 0 || g.rnd.IntN(50) == 0 {
		id := g.newUserID()
		g.userIDs.add(id)
		return id
	}
	return g.userIDs.pick(g.rnd)
}

func (g *Generator) newOrder() *Order {
	g.next.order++
	o := &Order{ID: g.next.order, UserID: g.anyUserID(), Status: statuses[g.rnd.IntN(len(statuses))],
		Total: g.money(5, 500), CreatedAt: g.clock.Truncate(time.Microsecond)}
	g.Shop.Orders[o.ID] = o
	g.orders.add(o.ID)
	return o
}

func (g *Generator) newItem(orderID int64) *Item {
	g.next.item++
	pid := int64(1 + g.rnd.IntN(int(max(g.next.product, 1))+1)) // now and then a product that does not exist
	it := &Item{ID: g.next.item, OrderID: orderID, ProductID: pid, Quantity: int32(1 + g.rnd.IntN(5)), UnitPrice: g.money(1, 200)}
	g.Shop.Items[it.ID] = it
	g.items.add(it.ID)
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
