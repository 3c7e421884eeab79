package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/packbench/packbench/internal/httpload"
)

// benchShipiumOrders fills a bench with n Shipium orders (partner ids po-0…).
func benchShipiumOrders(b *testing.B, n int) *bench {
	bn := newBench(b, nil)
	for i := range n {
		bn.ok("POST", "/api/v1/packShip/order", shipiumOrder(fmt.Sprintf("po-%d", i), []string{fmt.Sprintf("lpn:%d", i)}, "A", "2025-03-15T10:10:00Z"), nil)
	}
	return bn
}

// BenchmarkShipiumGetOrder: GET /api/v1/packShip/order/{partnerOrderId}
// over loopback HTTP with keep-alive, 16 concurrent clients, among 1,000
// orders in the bbolt file. The load tool is this benchmark: -benchtime
// sets the number of requests; req/s is the figure.
func BenchmarkShipiumGetOrder(b *testing.B) {
	const orders = 1000
	bn := benchShipiumOrders(b, orders)
	// × GOMAXPROCS (2 here): 16 clients
	httpload.Get(b, 8, func(i int64) string { return fmt.Sprintf("%s/api/v1/packShip/order/po-%d", bn.ts.URL, i%orders) },
		http.Header{"Authorization": {"Bearer " + testKey}})
}

// BenchmarkShipiumGetOrderHandler is one GET through the handler stack
// without the network: the per-request cost.
func BenchmarkShipiumGetOrderHandler(b *testing.B) {
	benchServe(b, benchShipiumOrders(b, 100), "GET", "/api/v1/packShip/order/po-42")
}

// BenchmarkShipiumSearch: one search page of 50 among 1,000 orders
// filtered by tenant (every order read: the search has no index).
func BenchmarkShipiumSearch(b *testing.B) {
	benchServe(b, benchShipiumOrders(b, 1000), "GET", "/api/v1/packShip/order/search?shipiumTenantId=A&anchor=500&count=50")
}
