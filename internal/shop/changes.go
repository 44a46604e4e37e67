package shop

import "time"

// Changes makes random changes to the shop until they amount to at least n
// records, and returns the records: inserts, updates and deletes of every
// table (with the tombstone Debezium writes after each PostgreSQL delete),
// items moving between orders and to other products, orders moving between
// users, cancelled and restored, users deleted and created again, rows of
// PostgreSQL deleted and inserted again with the same id, products deleted
// while items still reference them, and orders placed together with their
// items in one transaction. Tally counts what was made, by kind.
func (g *Generator) Changes(n int) []Message {
	var out []Message
	for len(out) < n {
		out = append(out, g.change()...)
	}
	return out
}

func (g *Generator) change() []Message {
	switch r := g.rnd.IntN(100); {
	case r < 10:
		return g.userChange()
	case r < 15:
		return g.productChange()
	case r < 38:
		return g.orderChange()
	case r < 42:
		return g.placeOrderWithItems()
	default:
		return g.itemChange()
	}
}

func (g *Generator) count(kind string) { g.Tally[kind]++ }

// userChange updates, deletes or creates a user; a created id may be one
// that existed before, or one so far only referenced by orders.
func (g *Generator) userChange() []Message {
	g.tick()
	id := g.anyUserID()
	sec, ord := g.mongoPos()
	if _, ok := g.Shop.Users[id]; ok && g.rnd.IntN(4) == 0 {
		delete(g.Shop.Users, id)
		g.count("user deleted")
		return []Message{mongoMessage("d", &User{ID: id}, sec, ord, "false"), mongoTombstone(id)}
	}
	op := "u"
	if _, ok := g.Shop.Users[id]; ok {
		g.count("user updated")
	} else {
		op = "c"
		g.count("user created")
	}
	g.Shop.Users[id] = g.userDoc()
	return []Message{mongoMessage(op, &User{ID: id, Doc: g.Shop.Users[id]}, sec, ord, "false")}
}

// productChange creates, renames and reprices, deletes, or creates again a
// product.
func (g *Generator) productChange() []Message {
	lsn, tx, ts := g.tick()
	switch {
	case g.products.len() == 0 || g.rnd.IntN(3) == 0:
		p := g.newProduct()
		g.count("product created")
		return []Message{pgMessage(productsTable, "c", p.ID, nil, productRow(p), lsn, tx, ts, "false")}
	case g.gone.products.len() > 0 && g.rnd.IntN(15) == 0:
		id := g.gone.products.pick(g.rnd)
		g.gone.products.remove(id)
		p := &Product{ID: id, Name: things[g.rnd.IntN(len(things))], Price: g.money(1, 200),
			Category: categories[g.rnd.IntN(len(categories))], UpdatedAt: g.clock.Truncate(time.Microsecond)}
		g.Shop.Products[id] = p
		g.products.add(id)
		g.count("product created again with the same id")
		return []Message{pgMessage(productsTable, "c", p.ID, nil, productRow(p), lsn, tx, ts, "false")}
	}
	p := g.Shop.Products[g.products.pick(g.rnd)]
	if g.rnd.IntN(10) == 0 {
		g.deleteProduct(p.ID)
		return []Message{pgMessage(productsTable, "d", p.ID, map[string]any{"id": p.ID}, nil, lsn, tx, ts, "false"), pgTombstone(productsTable, p.ID)}
	}
	p.Price, p.Name, p.UpdatedAt = g.money(1, 200), things[g.rnd.IntN(len(things))], g.clock.Truncate(time.Microsecond)
	g.count("product updated")
	return []Message{pgMessage(productsTable, "u", p.ID, nil, productRow(p), lsn, tx, ts, "false")}
}

func (g *Generator) deleteProduct(id int64) {
	delete(g.Shop.Products, id)
	g.products.remove(id)
	g.gone.products.add(id)
	g.count("product deleted")
	for _, it := range g.Shop.Items {
		if it.ProductID == id {
			g.count("product deleted while an item references it")
			break
		}
	}
}

// orderChange places, changes, cancels or restores, moves to another user,
// deletes, or inserts again an order.
func (g *Generator) orderChange() []Message {
	lsn, tx, ts := g.tick()
	if g.orders.len() == 0 || g.rnd.IntN(3) == 0 {
		o := g.newOrder()
		g.count("order placed")
		return []Message{pgMessage(ordersTable, "c", o.ID, nil, orderRow(o), lsn, tx, ts, "false")}
	}
	o := g.Shop.Orders[g.orders.pick(g.rnd)]
	switch g.rnd.IntN(12) {
	case 0:
		delete(g.Shop.Orders, o.ID)
		g.orders.remove(o.ID)
		g.cancelled.remove(o.ID)
		g.gone.orders.add(o.ID)
		g.count("order deleted")
		return []Message{pgMessage(ordersTable, "d", o.ID, map[string]any{"id": o.ID}, nil, lsn, tx, ts, "false"), pgTombstone(ordersTable, o.ID)}
	case 1, 2:
		if o.Status == "cancelled" {
			g.setStatus(o, "paid")
		} else {
			g.setStatus(o, "cancelled")
		}
	case 3, 4:
		o.UserID = g.anyUserID()
		g.count("order moved to another user")
	case 5:
		if g.gone.orders.len() == 0 {
			return g.orderChange()
		}
		id := g.gone.orders.pick(g.rnd)
		g.gone.orders.remove(id)
		o = &Order{ID: id, UserID: g.anyUserID(), Status: statuses[g.rnd.IntN(len(statuses))],
			Total: g.money(5, 500), CreatedAt: g.clock.Truncate(time.Microsecond)}
		g.Shop.Orders[id] = o
		g.orders.add(id)
		g.count("order created again with the same id")
		return []Message{pgMessage(ordersTable, "c", o.ID, nil, orderRow(o), lsn, tx, ts, "false")}
	default:
		g.setStatus(o, statuses[g.rnd.IntN(len(statuses))])
		o.Total = g.money(5, 500)
		g.count("order updated")
	}
	return []Message{pgMessage(ordersTable, "u", o.ID, nil, orderRow(o), lsn, tx, ts, "false")}
}

// setStatus changes an order's status, keeping the set of cancelled orders.
func (g *Generator) setStatus(o *Order, status string) {
	switch {
	case status == "cancelled" && o.Status != "cancelled":
		g.cancelled.add(o.ID)
		g.count("order cancelled")
	case status != "cancelled" && o.Status == "cancelled":
		g.cancelled.remove(o.ID)
		g.count("order restored")
	}
	o.Status = status
}

// placeOrderWithItems inserts an order and its items in one transaction
// (one txId, increasing LSNs), sometimes moving an existing item into it:
// across topics, the items may well be delivered before their order.
func (g *Generator) placeOrderWithItems() []Message {
	_, tx, ts := g.tick()
	o := g.newOrder()
	out := []Message{pgMessage(ordersTable, "c", o.ID, nil, orderRow(o), g.nextLSN(), tx, ts, "false")}
	for n := 1 + g.rnd.IntN(4); n > 0; n-- {
		it := g.newItem(o.ID)
		out = append(out, pgMessage(itemsTable, "c", it.ID, nil, itemRow(it), g.nextLSN(), tx, ts, "false"))
	}
	if g.items.len() > 0 && g.rnd.IntN(3) == 0 {
		it := g.Shop.Items[g.items.pick(g.rnd)]
		it.OrderID = o.ID
		out = append(out, pgMessage(itemsTable, "u", it.ID, nil, itemRow(it), g.nextLSN(), tx, ts, "false"))
		g.count("item moved to another order")
	}
	g.count("order placed with items in one transaction")
	return out
}

// itemChange adds, changes, moves (to another order, which may be cancelled,
// deleted or not yet placed, or to another product) or removes an item.
func (g *Generator) itemChange() []Message {
	lsn, tx, ts := g.tick()
	if g.items.len() == 0 || g.rnd.IntN(3) == 0 {
		it := g.newItem(g.anyOrderID())
		g.count("item added")
		return []Message{pgMessage(itemsTable, "c", it.ID, nil, itemRow(it), lsn, tx, ts, "false")}
	}
	it := g.Shop.Items[g.items.pick(g.rnd)]
	switch g.rnd.IntN(7) {
	case 0:
		delete(g.Shop.Items, it.ID)
		g.items.remove(it.ID)
		g.count("item removed")
		return []Message{pgMessage(itemsTable, "d", it.ID, map[string]any{"id": it.ID}, nil, lsn, tx, ts, "false"), pgTombstone(itemsTable, it.ID)}
	case 1, 2:
		it.OrderID = g.anyOrderID()
		if g.cancelled.len() > 0 && g.rnd.IntN(3) == 0 {
			it.OrderID = g.cancelled.pick(g.rnd)
		}
		g.count("item moved to another order")
		if o, ok := g.Shop.Orders[it.OrderID]; !ok || o.Status == "cancelled" {
			g.count("item moved to a cancelled or missing order")
		}
	case 3:
		it.ProductID = int64(1 + g.rnd.IntN(int(max(g.next.product, 1))+1))
		g.count("item moved to another product")
	default:
		it.Quantity = int32(1 + g.rnd.IntN(5))
		it.UnitPrice = g.money(1, 200)
		g.count("item updated")
	}
	return []Message{pgMessage(itemsTable, "u", it.ID, nil, itemRow(it), lsn, tx, ts, "false")}
}

// anyOrderID is an order id ever used, or the next one (an item before its
// order).
func (g *Generator) anyOrderID() int64 {
	return int64(1 + g.rnd.IntN(int(max(g.next.order, 1))+1))
}
