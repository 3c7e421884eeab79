package api_test

import (
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
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
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var n atomic.Int64
	b.SetParallelism(8) // × GOMAXPROCS (2 here): 16 clients
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1) % orders
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/packShip/order/po-%d", bn.ts.URL, i), nil)
			req.Header.Set("Authorization", "Bearer "+testKey)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
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
