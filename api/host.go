package api

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/packbench/packbench/internal/clock"
)

// hostCheck refuses requests whose Host is not one of the bench's names
// or addresses. A DNS-rebinding page (evil.example re-pointed at the
// bench's address) runs in a packer's browser as evil.example and sends
// that name as Host: refusing it keeps the page from reading the API.
//
// The interface addresses are read at most every hostAddrsRefresh while
// they answer and hostAddrsMiss while an address is not among them, not
// on every request (a netlink dump: most of a small GET's time).
type hostCheck struct {
	names map[string]bool
	read  func() ([]netip.Addr, error) // the machine's interface addresses
	clock clock.Clock

	addrs    atomic.Pointer[hostAddrs]
	nextMiss atomic.Int64 // unix ns before which a miss does not read again
}

// hostAddrs is one reading of the interface addresses.
type hostAddrs struct {
	set map[netip.Addr]bool
	at  time.Time
}

const (
	hostAddrsRefresh = 5 * time.Second        // an address that went away stops answering after this
	hostAddrsMiss    = 500 * time.Millisecond // a new address answers after at most this
)

func newHostCheck(names []string, read func() ([]netip.Addr, error), clk clock.Clock) *hostCheck {
	hc := &hostCheck{names: map[string]bool{"localhost": true}, read: read, clock: clk}
	for _, n := range names {
		if n = normHost(n); n != "" {
			hc.names[n] = true
		}
	}
	if hc.read == nil {
		hc.read = interfaceAddrs
	}
	if hc.clock == nil {
		hc.clock = clock.Real{}
	}
	return hc
}

// allowed reports whether host (a Host header, with or without port) names
// this bench. An address literal is allowed when it is loopback or one of
// the bench's interface addresses now (DHCP may change them).
func (hc *hostCheck) allowed(host string) bool {
	if host == "" {
		return true // HTTP/1.0 without Host: no browser sends that
	}
	h := host
	if hp, _, err := net.SplitHostPort(host); err == nil {
		h = hp
	}
	h = normHost(h)
	if hc.names[h] {
		return true
	}
	if a, err := netip.ParseAddr(h); err == nil {
		a = a.Unmap().WithZone("")
		return a.IsLoopback() || hc.names[a.String()] || hc.local(a)
	}
	return false
}

// local reports whether a is one of the interface addresses. It reads
// them again when the last reading is older than hostAddrsRefresh, or
// lacks a and is older than hostAddrsMiss; one caller reads, and callers
// meanwhile answer from the reading they have.
func (hc *hostCheck) local(a netip.Addr) bool {
	now := hc.clock.Now()
	cur := hc.addrs.Load()
	if cur != nil && now.Sub(cur.at) < hostAddrsRefresh && cur.set[a] {
		return true
	}
	if cur != nil {
		next := hc.nextMiss.Load()
		if now.UnixNano() < next || !hc.nextMiss.CompareAndSwap(next, now.Add(hostAddrsMiss).UnixNano()) {
			return cur.set[a]
		}
	} else {
		hc.nextMiss.Store(now.Add(hostAddrsMiss).UnixNano())
	}
	addrs, err := hc.read()
	if err != nil {
		return false
	}
	fresh := &hostAddrs{set: make(map[netip.Addr]bool, len(addrs)), at: now}
	for _, x := range addrs {
		fresh.set[x.Unmap().WithZone("")] = true
	}
	hc.addrs.Store(fresh)
	return fresh.set[a]
}

// normHost lower-cases a name, drops a trailing dot and brackets.
func normHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	h = strings.TrimSuffix(h, ".")
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap().WithZone("").String()
	}
	return h
}

// interfaceAddrs lists this machine's interface addresses.
func interfaceAddrs() ([]netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, x := range addrs {
		if p, err := netip.ParsePrefix(x.String()); err == nil {
			out = append(out, p.Addr())
		}
	}
	return out, nil
}

// checkHost answers 421 for a Host that is not the bench's.
func (s *Server) checkHost(w http.ResponseWriter, r *http.Request) bool {
	if s.hosts.allowed(r.Host) {
		return true
	}
	host := r.Host
	if len(host) > 64 {
		host = host[:64] + "…"
	}
	writeAPIError(w, errorf(http.StatusMisdirectedRequest, CodeHostNotAllowed,
		"Host %q is not a name or address of this bench; an admin can add it to [api] hosts", host))
	return false
}
