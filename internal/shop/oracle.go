package shop

import (
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// OrderDoc is what order_view must hold for one order: a plain join over
// the final source rows.
type OrderDoc struct {
	ID          int64
	Status      string
	TotalAmount decimal.Decimal
	CreatedAt   time.Time
	Customer    *CustomerDoc
	Items       []ItemDoc
}

// CustomerDoc is order_view.customer.
type CustomerDoc struct{ ID, Name, Email string }

// ItemDoc is one of order_view.items.
type ItemDoc struct {
	ID, ProductID int64
	ProductName   *string
	Quantity      int32
	UnitPrice     decimal.Decimal
}

// StatsDoc is what user_order_stats must hold for one user.
type StatsDoc struct {
	UserID     string
	OrderCount int64
	TotalSpent decimal.Decimal
}

// OrderView is the oracle of the example's order_view.
func (s *Shop) OrderView() map[int64]OrderDoc {
	items := map[int64][]*Item{}
	for _, it := range s.Items {
		items[it.OrderID] = append(items[it.OrderID], it)
	}
	out := map[int64]OrderDoc{}
	for _, o := range s.Orders {
		if o.Status == "cancelled" {
			continue
		}
		d := OrderDoc{ID: o.ID, Status: o.Status, TotalAmount: o.Total, CreatedAt: o.CreatedAt, Items: []ItemDoc{}}
		if u, ok := s.Users[o.UserID]; ok {
			d.Customer = &CustomerDoc{ID: o.UserID, Name: u.Name, Email: u.Email}
		}
		its := items[o.ID]
		sort.Slice(its, func(i, j int) bool { return its[i].ID < its[j].ID })
		for _, it := range its {
			doc := ItemDoc{ID: it.ID, ProductID: it.ProductID, Quantity: it.Quantity, UnitPrice: it.UnitPrice}
			if p, ok := s.Products[it.ProductID]; ok {
				name := p.Name
				doc.ProductName = &name
			}
			d.Items = append(d.Items, doc)
		}
		out[o.ID] = d
	}
	return out
}

// UserOrderStats is the oracle of the example's user_order_stats.
func (s *Shop) UserOrderStats() map[string]StatsDoc {
	out := map[string]StatsDoc{}
	for _, o := range s.Orders {
		if o.Status == "cancelled" {
			continue
		}
		d := out[o.UserID]
		d.UserID = o.UserID
		d.OrderCount++
		d.TotalSpent = d.TotalSpent.Add(o.Total)
		out[o.UserID] = d
	}
	return out
}
