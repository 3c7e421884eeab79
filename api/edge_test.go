package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
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

// TestHealthWithoutKeyLeaksNothing: with an order armed and labelled by
// the flow and a printer whose reason names its address, the health
// without a key carries status words and counts only; with a key, all of
// it.
func TestHealthWithoutKeyLeaksNothing(t *testing.T) {
	b := newBench(t, nil)
	o := validOrder("SO-LEAK-1")
	o["partner_order_id"] = "PO-SECRET-77"
	o["ship_to"].(map[string]any)["name"] = "Grace Hopper"
	o["ship_to"].(map[string]any)["city"] = "Arlington"
	b.ok("POST", "/api/v1/orders", o, nil)
	flows, unsub := b.st.Subscribe()
	defer unsub()
	b.ok("POST", "/api/v1/flow/arm", map[string]string{"order_id": "SO-LEAK-1"}, nil)
	b.ok("POST", "/api/v1/scale/sim", map[string]string{"script": "place 1200g; settle"}, nil)
	var fs station.FlowState
	timeout := time.After(20 * time.Second)
	for fs.TrackingNumber == "" {
		select {
		case fs = <-flows:
			if fs.Problem != nil {
				t.Fatalf("flow problem: %+v", fs.Problem)
			}
		case <-timeout:
			t.Fatalf("no label from the flow; last state %+v", fs)
		}
	}
	b.prn.set(api.PrinterInfo{Name: "p1", Transport: "tcp", Address: "10.9.8.7:9100", State: device.StateOffline, Known: true,
		Reason: "dial tcp 10.9.8.7:9100: connection refused", LastJob: fs.JobID, LastState: queue.StateQueued})

	secrets := []string{"Grace Hopper", "Arlington", "PO-SECRET-77", "SO-LEAK-1", fs.TrackingNumber, "10.9.8.7"}
	a := b.do("GET", "/api/v1/health", nil, "Authorization", "")
	if a.status != 200 {
		t.Fatalf("health without a key: %d %s", a.status, a.body)
	}
	for _, s := range secrets {
		if strings.Contains(string(a.body), s) {
			t.Errorf("health without a key shows %q: %s", s, a.body)
		}
	}
	// The reading, as a number of its own (1200 g, 1200000 mg, 1.2 kg), not
	// digits inside a timestamp's nanoseconds.
	if m := regexp.MustCompile(`(^|[^0-9.])1200(000)?([^0-9]|$)|1\.2 ?kg`).Find(a.body); m != nil {
		t.Errorf("health without a key shows the reading (%q): %s", m, a.body)
	}
	var pub struct {
		Status   string `json:"status"`
		Problems []string
		Queue    struct {
			Jobs map[string]int `json:"jobs"`
		} `json:"queue"`
		Printers []map[string]any `json:"printers"`
		Scale    map[string]any   `json:"scale"`
		Flow     map[string]any   `json:"flow"`
	}
	a.decode(t, &pub)
	if pub.Status != api.HealthDegraded || len(pub.Printers) != 1 || pub.Printers[0]["state"] != "offline" ||
		pub.Flow["state"] == nil || len(pub.Flow) != 1 || pub.Scale["reading"] != nil || pub.Scale["status"] != "ok" ||
		pub.Queue.Jobs == nil {
		t.Fatalf("health without a key lacks the status words: %s", a.body)
	}
	if !strings.Contains(strings.Join(pub.Problems, ";"), "printer p1: offline") {
		t.Fatalf("problems %q", pub.Problems)
	}

	// With a key: the whole report.
	a = b.do("GET", "/api/v1/health", nil)
	for _, s := range []string{"Grace Hopper", "Arlington", "PO-SECRET-77", fs.TrackingNumber, "connection refused"} {
		if !strings.Contains(string(a.body), s) {
			t.Errorf("health with a key lacks %q: %s", s, a.body)
		}
	}
}

// TestStreamCap: one stream over MaxStreams gets 503 with a code and a
// plain message; when a stream ends its place is free again.
func TestStreamCap(t *testing.T) {
	b := newBench(t, &benchOptions{opts: &api.Options{MaxStreams: 2}})
	s1 := b.openStream("", "X-Api-Key", testKey)
	b.openStream("", "X-Api-Key", testKey)
	a := b.do("GET", "/api/v1/scale/events", nil)
	if msg := a.wantError(t, 503, api.CodeTooManyStreams, ""); !strings.Contains(msg, "2 event streams") {
		t.Fatalf("message %q", msg)
	}
	<-b.streams // the refused request
	s1.cancel()
	select {
	case <-b.streams:
	case <-time.After(10 * time.Second):
		t.Fatal("the cancelled stream did not end")
	}
	b.openStream("", "X-Api-Key", testKey)
}

// TestBodyLimits: a declared body over MaxBody is refused before it is
// read; a chunked one is cut at MaxBody. Both close the connection.
func TestBodyLimits(t *testing.T) {
	b := newBench(t, &benchOptions{opts: &api.Options{MaxBody: 1000}})
	big := `{"id":"` + strings.Repeat("x", 2000) + `"}`
	for _, chunked := range []bool{false, true} {
		// A MultiReader hides the length: the client sends it chunked.
		var body io.Reader = strings.NewReader(big)
		if chunked {
			body = io.MultiReader(body)
		}
		req, err := http.NewRequest("POST", b.ts.URL+"/api/v1/orders", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := b.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if chunked != (req.ContentLength <= 0) {
			t.Fatalf("chunked %v: Content-Length %d", chunked, req.ContentLength)
		}
		answer{resp.StatusCode, resp.Header, data}.wantError(t, 413, api.CodeBodyTooLarge, "")
		if !resp.Close {
			t.Errorf("chunked %v: the 413 keeps the connection open", chunked)
		}
	}
}

// TestPageBytes: orders with big fields, limit=500: every answer stays
// under the page budget (plus the page's own few bytes), and following
// next reaches every order exactly once; the same for shipments.
func TestPageBytes(t *testing.T) {
	b := newBench(t, nil)
	const n, shipped = 24, 8
	seed := `"` + strings.Repeat("s", 200<<10) + `"` // a 200 KiB seed order
	for i := range n {
		o := validOrder(fmt.Sprintf("BIG-%02d", i))
		o["seed"] = json.RawMessage(seed)
		b.ok("POST", "/api/v1/orders", o, nil)
		if i < shipped {
			b.ok("POST", "/api/v1/shipments", map[string]any{"order_id": o["id"], "weight": map[string]any{"milligrams": 1000000}}, nil)
		}
	}
	walk := func(path, list string, want int) {
		t.Helper()
		seen := map[string]int{}
		pages := 0
		after := ""
		for {
			a := b.do("GET", path+"?limit=500"+after, nil)
			if a.status != 200 {
				t.Fatalf("%s: %d %s", path, a.status, a.body)
			}
			if len(a.body) > station.PageBytes+4096 {
				t.Fatalf("%s page %d: %d bytes, over the %d budget", path, pages, len(a.body), station.PageBytes)
			}
			var page map[string]json.RawMessage
			a.decode(t, &page)
			var items []struct {
				ID    string `json:"id"`
				Order struct {
					ID string `json:"id"`
				} `json:"order"`
			}
			if err := json.Unmarshal(page[list], &items); err != nil || len(items) == 0 {
				t.Fatalf("%s page %d: %v %d items", path, pages, err, len(items))
			}
			for _, it := range items {
				seen[it.ID+it.Order.ID]++
			}
			var total int
			json.Unmarshal(page["total"], &total)
			if total != want {
				t.Fatalf("%s: total %d, want %d", path, total, want)
			}
			pages++
			var next string
			json.Unmarshal(page["next"], &next)
			if next == "" {
				break
			}
			after = "&after=" + next
		}
		if len(seen) != want || pages < 2 {
			t.Fatalf("%s: %d distinct of %d in %d pages", path, len(seen), want, pages)
		}
		for id, c := range seen {
			if c != 1 {
				t.Fatalf("%s: %s seen %d times", path, id, c)
			}
		}
	}
	walk("/api/v1/orders", "orders", n)
	walk("/api/v1/shipments", "shipments", shipped)
}

// TestWriteDeadline: a client that asks for a large answer, or opens an
// event stream, and never reads loses its connection after WriteTimeout
// (per event on the stream) instead of holding a handler and a connection
// for good. The socket buffers on both ends are made small so the answer
// cannot hide in them.
func TestWriteDeadline(t *testing.T) {
	b := newBench(t, &benchOptions{opts: &api.Options{WriteTimeout: 200 * time.Millisecond, Heartbeat: time.Millisecond}})
	seed := `"` + strings.Repeat("s", 200<<10) + `"`
	for i := range 8 {
		o := validOrder(fmt.Sprintf("BIG-%02d", i))
		o["seed"] = json.RawMessage(seed)
		b.ok("POST", "/api/v1/orders", o, nil)
	}
	for _, path := range []string{"/api/v1/orders?limit=500", "/api/v1/scale/events"} {
		closed := make(chan struct{})
		var once sync.Once
		srv := httptest.NewUnstartedServer(b.srv)
		srv.Config.ConnState = func(c net.Conn, st http.ConnState) {
			if st == http.StateClosed {
				once.Do(func() { close(closed) })
			}
		}
		srv.Listener = smallSendBuffers{srv.Listener}
		srv.Start()
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var err error
			rc.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
			return err
		}}
		c, err := d.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n", path, testKey)
		select {
		case <-closed:
		case <-time.After(30 * time.Second):
			t.Errorf("%s: the server still holds the connection of a client that never reads", path)
		}
		c.Close()
		srv.Close()
	}
}

// smallSendBuffers gives accepted connections a 4 KiB send buffer.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}
