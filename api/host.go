package api

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// hostCheck refuses requests whose Host is not one of the bench's names
// or addresses. A DNS-rebinding page (evil.example re-pointed at the
// bench's address) runs in a packer's browser as evil.example and sends
// that name as Host: refusing it keeps the page from reading the API.
type hostCheck struct {
	names map[string]bool
	local func(netip.Addr) bool
}

func newHostCheck(names []string, local func(netip.Addr) bool) *hostCheck {
	hc := &hostCheck{names: map[string]bool{"localhost": true}, local: local}
	for _, n := range names {
		if n = normHost(n); n != "" {
			hc.names[n] = true
		}
	}
	if hc.local == nil {
		hc.local = interfaceAddr
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

// interfaceAddr reports whether a is an address of one of this machine's
// interfaces.
func interfaceAddr(a netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, x := range addrs {
		if p, err := netip.ParsePrefix(x.String()); err == nil && p.Addr().Unmap().WithZone("") == a {
			return true
		}
	}
	return false
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
