package api_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/api"
)

// limitServer is an http.Server behind an api.ConnLimit of max that waits
// up to wait for room; /block answers only when release is closed.
func limitServer(t *testing.T, max int, wait time.Duration) (addr string, lim *api.ConnLimit, entered chan struct{}, release chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lim = api.NewConnLimit(ln, max, wait)
	entered, release = make(chan struct{}, 16), make(chan struct{})
	srv := &http.Server{ConnState: lim.ConnState, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			entered <- struct{}{}
			<-release
		}
		io.WriteString(w, "ok")
	})}
	go srv.Serve(lim)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), lim, entered, release
}

// keepAlive sends one request on a new connection, reads the answer and
// leaves the connection open (idle on the server).
func keepAlive(t *testing.T, addr, path string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	io.ReadAll(resp.Body)
	return c, br, resp
}

// busyConn opens a connection whose request waits in the /block handler.
func busyConn(t *testing.T, addr string, entered chan struct{}) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
	<-entered
}

// TestConnLimitEvictsIdle: at the cap, a new client takes the place of the
// connection idle longest, which the server closes.
func TestConnLimitEvictsIdle(t *testing.T) {
	// A long wait: a connection whose answer the client has read may not
	// be idle on the server yet; the limit waits for it (not for the time).
	addr, lim, _, _ := limitServer(t, 2, time.Minute)
	_, oldest, _ := keepAlive(t, addr, "/")
	keepAlive(t, addr, "/")
	_, _, resp := keepAlive(t, addr, "/")
	if resp.StatusCode != 200 {
		t.Fatalf("third client: %d", resp.StatusCode)
	}
	// The first connection was closed by the server: EOF, not a wait.
	if _, err := oldest.ReadByte(); err == nil {
		t.Fatal("the longest idle connection is still open")
	}
	if n := lim.Len(); n > 2 {
		t.Fatalf("%d connections counted, cap 2", n)
	}
}

// TestConnLimitRefusesWhenBusy: at the cap with every connection in a
// handler, a new client gets 503 and is closed.
func TestConnLimitRefusesWhenBusy(t *testing.T) {
	addr, _, entered, release := limitServer(t, 2, 50*time.Millisecond)
	defer close(release)
	for range 2 {
		busyConn(t, addr, entered)
	}
	_, _, resp := keepAlive(t, addr, "/")
	if resp.StatusCode != 503 {
		t.Fatalf("over the cap: %d", resp.StatusCode)
	}
	if !resp.Close {
		t.Error("the 503 keeps the connection")
	}
}

// TestConnLimitAnswerShape: the refusal is the API's error shape.
func TestConnLimitAnswerShape(t *testing.T) {
	addr, _, entered, release := limitServer(t, 1, 50*time.Millisecond)
	defer close(release)
	busyConn(t, addr, entered)
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c2), nil)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	answer{resp.StatusCode, resp.Header, data}.wantError(t, 503, api.CodeTooManyConns, "")
	if !strings.Contains(string(data), "too many open connections") {
		t.Fatalf("message: %s", data)
	}
}
