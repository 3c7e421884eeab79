package device

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// statusCounter is a printer that answers its first ~HS "paper out" and
// later ones "ready"; got receives all it read once the connection ends.
func statusCounter(t *testing.T) (addr string, got <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan string, 1)
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
				ch <- all.String()
				return
			}
			all.Write(buf[:n])
			for ; strings.Count(all.String(), "~HS") > asked; asked++ {
				c.Write(FormatHostStatus(Status{PaperOut: asked == 0}))
			}
		}
	}()
	return ln.Addr().String(), ch
}

func openCounted(t *testing.T) (*streamPrinter, <-chan string, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	addr, got := statusCounter(t)
	pr, err := Open(PrinterConfig{Name: "t", Transport: "tcp", Address: addr, StatusTimeout: Duration(5 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pr.Close() })
	return pr.(*streamPrinter), got, ctx
}

// SendAsk writes ~HS right behind the job, and the next Status reads that
// reply instead of asking again; the one after asks anew.
func TestSendAskStatusReadsTheReplyAskedWithTheJob(t *testing.T) {
	p, got, ctx := openCounted(t)
	job := []byte("^XA^FO20,20^FDone^FS^XZ")
	if n, err := p.SendAsk(ctx, job); err != nil || n != len(job) {
		t.Fatalf("SendAsk = %d, %v; want %d bytes", n, err, len(job))
	}
	if st, err := p.Status(ctx); err != nil || st.State != StatePaperOut {
		t.Fatalf("first Status = %s, %v; want the reply asked with the job (paper out)", st.State, err)
	}
	if st, err := p.Status(ctx); err != nil || st.State != StateReady {
		t.Fatalf("second Status = %s, %v; want a new reply (ready)", st.State, err)
	}
	p.Close()
	if all := <-got; all != string(job)+"~HS~HS" {
		t.Fatalf("printer received %q, want the job, ~HS, ~HS", all)
	}
}

// A status asked ahead (Ask) is read by the next Status while fresh; one
// asked longer than askFresh ago is read, dropped and asked again, so a
// check never takes an old state for the state now.
func TestAskedStatusIsUsedOnlyWhileFresh(t *testing.T) {
	p, got, ctx := openCounted(t)
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
