package api

import (
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/packbench/packbench/internal/clocktest"
)

// fakeAddrs are interface addresses a test changes, counting the reads.
type fakeAddrs struct {
	mu    sync.Mutex
	addrs []netip.Addr
	fail  bool
	reads atomic.Int64
}

func (f *fakeAddrs) set(fail bool, addrs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail, f.addrs = fail, nil
	for _, a := range addrs {
		f.addrs = append(f.addrs, netip.MustParseAddr(a))
	}
}

func (f *fakeAddrs) read() ([]netip.Addr, error) {
	f.reads.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return nil, errors.New("netlink: no")
	}
	return append([]netip.Addr(nil), f.addrs...), nil
}

// TestHostCheckAddressChanges: the interface addresses are read once for
// many requests, not per request; an address that appears answers within
// hostAddrsMiss, one that goes away stops within hostAddrsRefresh, and a
// flood of Hosts that are no address of the bench reads at most once per
// hostAddrsMiss.
func TestHostCheckAddressChanges(t *testing.T) {
	clk := clocktest.NewClock(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	f := &fakeAddrs{}
	f.set(false, "192.168.1.20", "fe80::1")
	hc := newHostCheck([]string{"bench.example"}, f.read, clk)
	check := func(host string, want bool, reads int64) {
		t.Helper()
		if got := hc.allowed(host); got != want || f.reads.Load() != reads {
			t.Fatalf("allowed(%q) = %v after %d reads; want %v after %d", host, got, f.reads.Load(), want, reads)
		}
	}
	// Names and loopback never read the addresses.
	check("bench.example", true, 0)
	check("127.0.0.1:8080", true, 0)
	check("[::1]:8080", true, 0)
	check("evil.example", false, 0)
	// The first address literal reads them; the next thousand do not.
	check("192.168.1.20:8080", true, 1)
	for range 1000 {
		check("192.168.1.20", true, 1)
		check("[fe80::1]:80", true, 1)
	}
	// A new address (DHCP): refused until hostAddrsMiss has passed since
	// the last reading, then read again and served.
	f.set(false, "192.168.1.20", "10.0.0.7")
	check("10.0.0.7", false, 1)
	clk.Advance(hostAddrsMiss)
	check("10.0.0.7", true, 2)
	check("192.168.1.20", true, 2)
	// Addresses that are not the bench's: one read per hostAddrsMiss.
	for range 1000 {
		check("203.0.113.9", false, 2)
	}
	clk.Advance(hostAddrsMiss)
	check("203.0.113.9", false, 3)
	check("203.0.113.9", false, 3)
	// An address that went away: served from the reading until it is
	// hostAddrsRefresh old, then refused.
	f.set(false, "10.0.0.7")
	check("192.168.1.20", true, 3)
	clk.Advance(hostAddrsRefresh)
	check("192.168.1.20", false, 4)
	check("10.0.0.7", true, 4)
	// A failed reading refuses what it cannot confirm and is retried.
	clk.Advance(hostAddrsRefresh)
	f.set(true)
	check("10.0.0.7", false, 5)
	f.set(false, "10.0.0.7")
	clk.Advance(hostAddrsMiss)
	check("10.0.0.7", true, 6)
}

// TestHostCheckConcurrent: many requests at once after the reading went
// stale: one of them reads, and none of them is refused for an address
// the bench has.
func TestHostCheckConcurrent(t *testing.T) {
	clk := clocktest.NewClock(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	f := &fakeAddrs{}
	f.set(false, "192.168.1.20")
	hc := newHostCheck(nil, f.read, clk)
	if !hc.allowed("192.168.1.20") {
		t.Fatal("not allowed")
	}
	clk.Advance(hostAddrsRefresh)
	var wg sync.WaitGroup
	var refused atomic.Int64
	for range 64 {
		wg.Go(func() {
			if !hc.allowed("192.168.1.20") {
				refused.Add(1)
			}
		})
	}
	wg.Wait()
	if refused.Load() != 0 || f.reads.Load() != 2 {
		t.Fatalf("%d of 64 refused, %d reads; want 0 refused, 2 reads", refused.Load(), f.reads.Load())
	}
}

// BenchmarkHostCheckLAN: the Host check of a request sent to one of the
// machine's own non-loopback addresses, as a LAN client sends it; "read"
// is reading the interface addresses, what every such request cost
// before they were kept.
func BenchmarkHostCheckLAN(b *testing.B) {
	addrs, err := interfaceAddrs()
	if err != nil {
		b.Fatal(err)
	}
	host := ""
	for _, a := range addrs {
		if !a.IsLoopback() {
			host = a.String()
			break
		}
	}
	if host == "" {
		b.Skip("no non-loopback address")
	}
	b.Run("read", func(b *testing.B) {
		for b.Loop() {
			if _, err := interfaceAddrs(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("check", func(b *testing.B) {
		hc := newHostCheck(nil, nil, nil)
		b.ReportAllocs()
		for b.Loop() {
			if !hc.allowed(host) {
				b.Fatalf("%s refused", host)
			}
		}
	})
}
