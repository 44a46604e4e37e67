package shop

import "time"

// The methods below make one chosen change each, in a source transaction of
// its own, and return its records: tests script the tricky cases with them
// and still compare with the oracle. They keep the generator's bookkeeping,
// so random Changes may follow.

// PutUser creates or replaces a user document.
func (g *Generator) PutUser(id, name, email string) []Message {
	g.tick()
	sec, ord := g.mongoPos()
	op := "u"
	if _, ok := g.Shop.Users[id]; !ok {
		op = "c"
	}
	g.userIDs.add(id)
	g.Shop.Users[id] = &UserDoc{Name: name, Email: email, Status: "active"}
	return []Message{mongoMessage(op, &User{ID: id, Doc: g.Shop.Users[id]}, sec, ord, "false")}
}

// DeleteUser deletes a user document, followed by its tombstone.
func (g *Generator) DeleteUser(id string) []Message {
	g.tick()
	sec, ord := g.mongoPos()
	delete(g.Shop.Users, id)
	return []Message{mongoMessage("d", &User{ID: id}, sec, ord, "false"), mongoTombstone(id)}
}

// PutProduct inserts or updates a product.
func (g *Generator) PutProduct(id int64, name string) []Message {
	lsn, tx, ts := g.tick()
	op := "u"
	p, ok := g.Shop.Products[id]
	if !ok {
		op = "c"
		p = &Product{ID: id, Price: g.money(1, 200), Category: categories[0]}
		g.Shop.Products[id] = p
		g.products.add(id)
		g.gone.products.remove(id)
		g.next.product = max(g.next.product, id)
	}
	p.Name, p.UpdatedAt = name, g.clock.Truncate(time.Microsecond)
	return []Message{pgMessage(productsTable, op, id, nil, productRow(p), lsn, tx, ts, "false")}
}

// DeleteProduct deletes a product, followed by its tombstone.
func (g *Generator) DeleteProduct(id int64) []Message {
	lsn, tx, ts := g.tick()
	g.deleteProduct(id)
	return []Message{pgMessage(productsTable, "d", id, map[string]any{"id": id}, nil, lsn, tx, ts, "false"), pgTombstone(productsTable, id)}
}

// PutOrder inserts or updates an order.
func (g *Generator) PutOrder(id int64, userID, status string) []Message {
	lsn, tx, ts := g.tick()
	op := "u"
	o, ok := g.Shop.Orders[id]
	if !ok {
		op = "c"
		o = &Order{ID: id, Total: g.money(5, 500), CreatedAt: g.clock.Truncate(time.Microsecond)}
		g.Shop.Orders[id] = o
		g.orders.add(id)
		g.gone.orders.remove(id)
		g.next.order = max(g.next.order, id)
	}
	o.UserID = userID
	g.userIDs.add(userID)
	g.setStatus(o, status)
	return []Message{pgMessage(ordersTable, op, id, nil, orderRow(o), lsn, tx, ts, "false")}
}

// DeleteOrder deletes an order (not its items), followed by its tombstone.
func (g *Generator) DeleteOrder(id int64) []Message {
	lsn, tx, ts := g.tick()
	delete(g.Shop.Orders, id)
	g.orders.remove(id)
	g.cancelled.remove(id)
	g.gone.orders.add(id)
	return []Message{pgMessage(ordersTable, "d", id, map[string]any{"id": id}, nil, lsn, tx, ts, "false"), pgTombstone(ordersTable, id)}
}

// PutItem inserts or updates an order item.
func (g *Generator) PutItem(id, orderID, productID int64, quantity int32) []Message {
	lsn, tx, ts := g.tick()
	op := "u"
	it, ok := g.Shop.Items[id]
	if !ok {
		op = "c"
		it = &Item{ID: id, UnitPrice: g.money(1, 200)}
		g.Shop.Items[id] = it
		g.items.add(id)
		g.next.item = max(g.next.item, id)
	}
	it.OrderID, it.ProductID, it.Quantity = orderID, productID, quantity
	return []Message{pgMessage(itemsTable, op, id, nil, itemRow(it), lsn, tx, ts, "false")}
}

// TruncateItems truncates order_items: every item is gone at once.
func (g *Generator) TruncateItems() []Message {
	lsn, tx, ts := g.tick()
	for id := range g.Shop.Items {
		delete(g.Shop.Items, id)
		g.items.remove(id)
	}
	return []Message{pgTruncate(itemsTable, lsn, tx, ts)}
}

// DeleteItem deletes an order item, followed by its tombstone.
func (g *Generator) DeleteItem(id int64) []Message {
	lsn, tx, ts := g.tick()
	delete(g.Shop.Items, id)
	g.items.remove(id)
	return []Message{pgMessage(itemsTable, "d", id, map[string]any{"id": id}, nil, lsn, tx, ts, "false"), pgTombstone(itemsTable, id)}
}
