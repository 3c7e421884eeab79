package api_test

import (
	"testing"
)

// TestLocationEscaped: ids that need escaping in a path come back escaped
// in Location, so a client following it reaches the same order.
func TestLocationEscaped(t *testing.T) {
	b := newBench(t, nil)
	id := "SO 7%é"
	a := b.do("POST", "/api/v1/orders", validOrder(id))
	if a.status != 201 {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	const want = "/api/v1/orders/SO%207%25%C3%A9"
	if got := a.header.Get("Location"); got != want {
		t.Fatalf("Location = %q, want %q", got, want)
	}
	b.ok("GET", want, nil, nil) // the escaped path finds the order
	a = b.do("POST", "/api/v1/shipments", map[string]any{"order_id": id, "weight": map[string]any{"milligrams": 1000000}})
	if a.status != 201 {
		t.Fatalf("ship: %d %s", a.status, a.body)
	}
	if got := a.header.Get("Location"); got != "/api/v1/shipments/SO%207%25%C3%A9" {
		t.Fatalf("shipment Location = %q", got)
	}
	b.ok("GET", a.header.Get("Location"), nil, nil)
}
