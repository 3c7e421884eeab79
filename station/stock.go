package station

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/packbench/packbench/internal/textcheck"
	"github.com/packbench/packbench/queue"
)

// The stock ledger: a quantity per SKU in the queue file (record kind
// queue.KindStock, SKU → StockItem). Only SKUs an admin set are tracked:
// an order line whose SKU the ledger does not know moves nothing, so a
// bench that keeps no stock never grows a ledger of negative numbers.
// An order's lines leave the ledger when its first label is committed and
// come back when its last labelled package is voided, in the same
// transaction; every change writes a stock.changed event.

const kindStock = queue.KindStock

// EventStockChanged is written for every change of a SKU's quantity.
const EventStockChanged = "stock.changed"

// maxSKULen bounds a SKU (Shopify allows 255 characters).
const maxSKULen = 255

// StockItem is one SKU's quantity. It may be negative: labels are issued
// for what the packer has in hand, even if the ledger says otherwise.
type StockItem struct {
	SKU       string    `json:"sku"`
	Quantity  int64     `json:"quantity"`
	UpdatedAt time.Time `json:"updated_at"`
}

// StockChange is the data of a stock.changed event.
type StockChange struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"` // after the change
	Delta    int64  `json:"delta"`
	Reason   string `json:"reason,omitempty"`
	// OrderID is the order whose label (or void) moved the stock.
	OrderID string    `json:"order_id,omitempty"`
	At      time.Time `json:"at"`
}

// Stock change reasons the station writes itself.
const (
	StockReasonLabel = "label issued"
	StockReasonVoid  = "label voided"
)

// maxStockQuantity bounds a quantity or delta (far beyond any shelf).
const maxStockQuantity = 1_000_000_000

func checkSKU(field, sku string) error {
	if sku == "" || strings.TrimSpace(sku) != sku {
		return fieldErr(field, "want 1 to %d characters without surrounding spaces", maxSKULen)
	}
	if err := textcheck.Text(sku, maxSKULen); err != nil {
		return fieldErr(field, "%s", err)
	}
	return nil
}

// Stock returns the ledger's entry for sku; ErrNotFound when it is not tracked.
func (s *Station) Stock(ctx context.Context, sku string) (StockItem, error) {
	if err := ctx.Err(); err != nil {
		return StockItem{}, err
	}
	var it StockItem
	err := s.db.View(func(tx *queue.Tx) error { return getJSON(tx, kindStock, sku, &it) })
	if err != nil {
		return StockItem{}, fmt.Errorf("station: stock %q: %w", sku, notFound(err))
	}
	return it, nil
}

// ListStock returns every tracked SKU in SKU order.
func (s *Station) ListStock(ctx context.Context) ([]StockItem, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := []StockItem{}
	err := s.db.View(func(tx *queue.Tx) error {
		recs, err := tx.ListRecords(kindStock, queue.RecordPage{})
		if err != nil {
			return err
		}
		for _, r := range recs {
			var it StockItem
			if err := getJSON(tx, kindStock, r.Key, &it); err != nil {
				return err
			}
			out = append(out, it)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("station: list stock: %w", err)
	}
	return out, nil
}

// SetStock sets sku's quantity (and starts tracking it).
func (s *Station) SetStock(ctx context.Context, sku string, quantity int64, reason string) (StockItem, error) {
	if quantity < -maxStockQuantity || quantity > maxStockQuantity {
		return StockItem{}, fmt.Errorf("station: set stock: %w", fieldErr("quantity", "want -%d to %d", maxStockQuantity, maxStockQuantity))
	}
	it, err := s.changeStock(ctx, sku, func(cur int64, _ bool) int64 { return quantity }, reason)
	if err != nil {
		return StockItem{}, fmt.Errorf("station: set stock: %w", err)
	}
	return it, nil
}

// AdjustStock adds delta (negative: takes away) to sku's quantity; a SKU
// not tracked yet starts at 0.
func (s *Station) AdjustStock(ctx context.Context, sku string, delta int64, reason string) (StockItem, error) {
	if delta < -maxStockQuantity || delta > maxStockQuantity {
		return StockItem{}, fmt.Errorf("station: adjust stock: %w", fieldErr("delta", "want -%d to %d", maxStockQuantity, maxStockQuantity))
	}
	it, err := s.changeStock(ctx, sku, func(cur int64, _ bool) int64 { return cur + delta }, reason)
	if err != nil {
		return StockItem{}, fmt.Errorf("station: adjust stock: %w", err)
	}
	return it, nil
}

func (s *Station) changeStock(ctx context.Context, sku string, next func(cur int64, tracked bool) int64, reason string) (StockItem, error) {
	if err := ctx.Err(); err != nil {
		return StockItem{}, err
	}
	if err := checkSKU("sku", sku); err != nil {
		return StockItem{}, err
	}
	if err := checkText("reason", reason, maxTextLen); err != nil {
		return StockItem{}, err
	}
	var it StockItem
	err := s.db.Update(func(tx *queue.Tx) error {
		it = StockItem{SKU: sku}
		tracked := true
		if err := getJSON(tx, kindStock, sku, &it); errors.Is(err, queue.ErrNotFound) {
			tracked = false
			if err := tx.CheckSpace(); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		q := next(it.Quantity, tracked)
		if q < -maxStockQuantity || q > maxStockQuantity {
			return fieldErr("delta", "the quantity would leave -%d to %d", maxStockQuantity, maxStockQuantity)
		}
		return s.putStock(tx, &it, q-it.Quantity, reason, "", s.clock.Now().UTC())
	})
	return it, err
}

// putStock applies delta to it, stores it and writes the event.
func (s *Station) putStock(tx *queue.Tx, it *StockItem, delta int64, reason, orderID string, now time.Time) error {
	it.Quantity += delta
	it.UpdatedAt = now
	if err := putJSON(tx, kindStock, it.SKU, it); err != nil {
		return err
	}
	return appendEvent(tx, EventStockChanged, it.SKU, StockChange{SKU: it.SKU, Quantity: it.Quantity, Delta: delta,
		Reason: reason, OrderID: orderID, At: now})
}

// moveOrderStock moves o's lines out of the ledger (sign -1: its first
// label was committed) or back into it (sign +1: its last labelled package
// was voided), inside tx. SKUs the ledger does not track are skipped.
func (s *Station) moveOrderStock(tx *queue.Tx, o *Order, sign int64, now time.Time) error {
	if len(o.Lines) == 0 {
		return nil
	}
	qty := map[string]int64{}
	for _, l := range o.Lines {
		if l.SKU != "" && l.Quantity > 0 {
			qty[l.SKU] += int64(l.Quantity)
		}
	}
	skus := make([]string, 0, len(qty))
	for sku := range qty {
		skus = append(skus, sku)
	}
	slices.Sort(skus) // events in a stable order
	reason := StockReasonLabel
	if sign > 0 {
		reason = StockReasonVoid
	}
	for _, sku := range skus {
		var it StockItem
		if err := getJSON(tx, kindStock, sku, &it); errors.Is(err, queue.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		if err := s.putStock(tx, &it, sign*qty[sku], reason, o.ID, now); err != nil {
			return err
		}
	}
	return nil
}
