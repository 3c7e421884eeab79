package main

import (
	"net"
	"regexp"
	"testing"
	"time"
)

// A printer that does not answer at start is named in the log with its
// address and what to check (issue 19); the bench still starts.
func TestUnreachablePrinterAtStartSaysWhatToCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused
	dir := t.TempDir()
	cfg := benchConfig(t, dir, addr, "")
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=unreachable-printer-key-0123456789abcdef"}, "--config", cfg)
	re := regexp.MustCompile(`printer not ready at start" printer=zebra transport=tcp address=` + regexp.QuoteMeta(addr) + ` .*check="is the printer switched on and on the network\?[^"]*port 9100`)
	if _, err := d.waitLog(re, 10*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, d.log())
	}
	d.stop()
}
