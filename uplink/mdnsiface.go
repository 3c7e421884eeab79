package uplink

import (
	"fmt"
	"net"
	"slices"
	"strings"
)

// MDNSIface is one network interface as the announcer chooses among them:
// what net.Interface and its Addrs say, as plain data so the choice is a
// pure function (SelectMDNSIfaces) tests feed directly.
type MDNSIface struct {
	Index int
	Name  string
	Flags net.Flags
	Addrs []net.IP
}

// skippedIfacePrefixes are the interfaces the default choice leaves out:
// container bridges and veth ends (docker*, br-*, veth*, virbr*, cni*,
// flannel*) and VPN tunnels (tun*, tap*, wg*, tailscale*, zt*). Their
// addresses are unreachable from the LAN, and announcing them sends
// clients to dead ends (zeroconf #43). [mdns] interfaces overrides it.
var skippedIfacePrefixes = [...]string{"docker", "br-", "veth", "virbr", "cni", "flannel", "tun", "tap", "wg", "tailscale", "zt"}

// SelectMDNSIfaces picks the interfaces to announce on. With names (the
// [mdns] interfaces list) exactly those, if up and multicast-capable;
// without, every up, multicast-capable, non-loopback interface that is not
// a container bridge, veth or VPN tunnel and has an address that is not
// link-local. The result keeps all's order; missing names are returned so
// the caller can say so.
func SelectMDNSIfaces(all []MDNSIface, names []string) (chosen []MDNSIface, missing []string) {
	usable := func(i MDNSIface) bool {
		return i.Flags&net.FlagUp != 0 && i.Flags&net.FlagMulticast != 0
	}
	if len(names) > 0 {
		for _, n := range names {
			if !slices.ContainsFunc(all, func(i MDNSIface) bool { return i.Name == n && usable(i) }) {
				missing = append(missing, n)
			}
		}
		for _, i := range all {
			if slices.Contains(names, i.Name) && usable(i) {
				chosen = append(chosen, i)
			}
		}
		return chosen, missing
	}
	for _, i := range all {
		if !usable(i) || i.Flags&net.FlagLoopback != 0 {
			continue
		}
		if slices.ContainsFunc(skippedIfacePrefixes[:], func(p string) bool { return strings.HasPrefix(i.Name, p) }) {
			continue
		}
		if len(announcedAddrs(i)) == 0 {
			continue // link-local only, or no address at all
		}
		chosen = append(chosen, i)
	}
	return chosen, nil
}

// announcedAddrs are the interface's addresses worth announcing: IPv4 and
// IPv6 that are neither loopback nor link-local (an IPv6 link-local address
// needs a zone a record cannot carry; 169.254/16 is what a host without
// DHCP gives itself).
func announcedAddrs(i MDNSIface) []net.IP {
	var out []net.IP
	for _, ip := range i.Addrs {
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast() {
			continue
		}
		out = append(out, ip)
	}
	return out
}

// SystemIfaces lists the host's interfaces with their addresses: the
// default MDNSOptions.Interfaces.
func SystemIfaces() ([]MDNSIface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("mdns: list interfaces: %w", err)
	}
	out := make([]MDNSIface, 0, len(ifs))
	for _, ifi := range ifs {
		m := MDNSIface{Index: ifi.Index, Name: ifi.Name, Flags: ifi.Flags}
		addrs, err := ifi.Addrs()
		if err != nil {
			return nil, fmt.Errorf("mdns: addresses of %s: %w", ifi.Name, err)
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				m.Addrs = append(m.Addrs, n.IP)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// netIfaces turns chosen interfaces into what zeroconf and the sockets take.
func netIfaces(chosen []MDNSIface) []net.Interface {
	out := make([]net.Interface, 0, len(chosen))
	for _, i := range chosen {
		out = append(out, net.Interface{Index: i.Index, Name: i.Name, Flags: i.Flags})
	}
	return out
}
