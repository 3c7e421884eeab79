package device

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// A status asked ahead (Ask) is read by the next Status while fresh; one
// asked longer than askFresh ago is read, dropped and asked again, so a
// check never takes an old state for the state now. The printer here
// answers its first ~HS "paper out" and later ones "ready".
func TestAskedStatusIsUsedOnlyWhileFresh(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var all strings.Builder
		asked := 0
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				got <- all.String()
				return
			}
			all.Write(buf[:n])
			for ; strings.Count(all.String(), "~HS") > asked; asked++ {
				c.Write(FormatHostStatus(Status{PaperOut: asked == 0}))
			}
		}
	}()
	pr, err := Open(PrinterConfig{Name: "t", Transport: "tcp", Address: ln.Addr().String(), StatusTimeout: Duration(5 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	p := pr.(*streamPrinter)
	if err := p.Ask(ctx); err != nil {
		t.Fatal(err)
	}
	// Make the request look old, as if nothing read it for a while.
	p.acquire(ctx)
	p.mu.Lock()
	p.conn.askedAt = time.Now().Add(-time.Minute)
	p.mu.Unlock()
	p.release()
	if st, err := p.Status(ctx); err != nil || st.State != StateReady {
		t.Fatalf("Status after a stale ask = %s, %v; want the reply asked anew (ready), not the old one (paper out)", st.State, err)
	}
	if err := p.Ask(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := p.Status(ctx); err != nil || st.State != StateReady {
		t.Fatalf("Status after a fresh ask = %s, %v", st.State, err)
	}
	p.Close()
	if all := <-got; all != "~HS~HS~HS" {
		t.Fatalf("printer received %q, want three ~HS (the stale reply dropped, one asked anew, one asked ahead and used)", all)
	}
}
