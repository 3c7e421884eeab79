package uplink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/grandcat/zeroconf"

	"github.com/packbench/packbench/internal/backoff"
	"github.com/packbench/packbench/internal/clock"
)

// mDNS service types the bench announces and discover browses.
const (
	ServiceBench   = "_packbench._tcp"
	ServiceHTTP    = "_http._tcp"
	ServicePrinter = "_pdl-datastream._tcp"
	mdnsDomain     = "local."
	// MDNSTxtVers is the txtvers of the _packbench._tcp TXT record.
	MDNSTxtVers = "1"
	// APIPath is where the API lives on the announced port (TXT "api").
	APIPath = "/api/v1"
)

// MDNSConfig is the [mdns] section of the daemon's config.
type MDNSConfig struct {
	// Enabled announces the bench; on in the embedded default.
	Enabled bool `toml:"enabled" json:"enabled"`
	// Name is the instance name browsers show ("Bench 1"); default: the
	// bench's name. On a collision " (2)", " (3)"… is appended.
	Name string `toml:"name" json:"name,omitempty"`
	// Host is the host name announced as <host>.local; default: the
	// machine's host name.
	Host string `toml:"host" json:"host,omitempty"`
	// Interfaces to announce on; empty: every up, multicast, non-loopback
	// interface except container bridges, veth and VPN tunnels.
	Interfaces []string `toml:"interfaces" json:"interfaces,omitempty"`
}

// Validate checks [mdns]; host must be one DNS label.
func (c *MDNSConfig) Validate() error {
	if c.Host != "" && HostLabel(c.Host) != c.Host {
		return fmt.Errorf("mdns.host %q: want one DNS label (letters, digits, '-'), e.g. %q", c.Host, HostLabel(c.Host))
	}
	if len(c.Name) > 58 {
		return fmt.Errorf("mdns.name: at most 58 bytes (a DNS label, with room for \" (2)\"), got %d", len(c.Name))
	}
	for i, n := range c.Interfaces {
		if n == "" || strings.ContainsAny(n, " /") {
			return fmt.Errorf("mdns.interfaces[%d] %q: want an interface name", i, n)
		}
	}
	return nil
}

// HostLabel turns a host name into one lowercase DNS label: the first
// label, letters, digits and '-' only ("Bench_1.lan" → "bench-1");
// "packbench" when nothing is left.
func HostLabel(h string) string {
	h, _, _ = strings.Cut(strings.ToLower(h), ".")
	b := make([]byte, 0, len(h))
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b = append(b, c)
		case len(b) > 0 && b[len(b)-1] != '-':
			b = append(b, '-')
		}
	}
	s := strings.Trim(string(b), "-")
	if len(s) > 63 {
		s = strings.Trim(s[:63], "-")
	}
	if s == "" {
		return "packbench"
	}
	return s
}

// MDNSBench is what the announcement says about the bench.
type MDNSBench struct {
	ID, Name, Version string
	// APIPort is the bound port of the API and page.
	APIPort int
	// Raw9100Port is the raw ZPL listener's port; 0: not announced.
	Raw9100Port int
}

// MDNSService is one service registration as the announcer hands it to
// MDNSOptions.Publish.
type MDNSService struct {
	Instance, Type, Host string
	Port                 int
	Text                 []string
	IPs                  []string
	Ifaces               []net.Interface
}

// MDNSOptions are the announcer's dependencies; nil fields are the real
// ones.
type MDNSOptions struct {
	Logger *slog.Logger
	Clock  clock.Clock
	// Interfaces lists the host's interfaces; nil: SystemIfaces. Called
	// every Poll: a change of the chosen interfaces or their addresses
	// re-announces (zeroconf captures addresses once, #55).
	Interfaces func() ([]MDNSIface, error)
	// Poll is the address check interval; 0: 5s.
	Poll time.Duration
	// Hostname is the machine's host name; nil: os.Hostname.
	Hostname func() (string, error)
	// Publish registers one service and returns its shutdown (which sends
	// the goodbyes); nil: zeroconf.RegisterProxy.
	Publish func(MDNSService) (func(), error)
	// Taken says whether another host answers for a DNS name (presentation
	// form: an instance's or a host's; the collision probe); nil: a query
	// on the network, ProbeWindow long.
	Taken func(ctx context.Context, name string, ifaces []net.Interface) (bool, error)
	// ProbeWindow is how long the default Taken listens; 0: 1s.
	ProbeWindow time.Duration
	// Respond answers host-name and legacy unicast queries for the
	// services until its stop is called; nil: the real responder.
	Respond func(MDNSHost) (func(), error)
}

// Announcer keeps the bench announced on the LAN.
type Announcer struct {
	cfg   MDNSConfig
	bench MDNSBench
	o     MDNSOptions
}

// NewAnnouncer returns the announcer; Run does the work.
func NewAnnouncer(cfg MDNSConfig, bench MDNSBench, opts *MDNSOptions) *Announcer {
	a := &Announcer{cfg: cfg, bench: bench}
	if opts != nil {
		a.o = *opts
	}
	if a.o.Logger == nil {
		a.o.Logger = slog.New(slog.DiscardHandler)
	}
	if a.o.Clock == nil {
		a.o.Clock = clock.Real{}
	}
	if a.o.Interfaces == nil {
		a.o.Interfaces = SystemIfaces
	}
	if a.o.Poll <= 0 {
		a.o.Poll = 5 * time.Second
	}
	if a.o.Hostname == nil {
		a.o.Hostname = os.Hostname
	}
	if a.o.Publish == nil {
		a.o.Publish = publishZeroconf
	}
	if a.o.Respond == nil {
		a.o.Respond = respond
	}
	if a.o.ProbeWindow <= 0 {
		a.o.ProbeWindow = time.Second
	}
	if a.o.Taken == nil {
		a.o.Taken = func(ctx context.Context, name string, ifaces []net.Interface) (bool, error) {
			return nameTaken(ctx, name, ifaces, a.o.ProbeWindow)
		}
	}
	return a
}

// errNoIface: no interface qualifies; the announcer retries with backoff.
var errNoIface = errors.New("mdns: no interface to announce on")

// Run announces until ctx ends, then sends goodbyes. Failures (no
// interface yet, a socket error) are retried with backoff.
func (a *Announcer) Run(ctx context.Context) {
	bo := backoff.New(time.Second, time.Minute)
	var names mdnsNames
	for ctx.Err() == nil {
		var err error
		names, err = a.runOnce(ctx, names)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			bo.Reset()
			continue // addresses changed: announce again at once
		}
		wait := bo.Next()
		a.o.Logger.Warn("mdns: announce failed, retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-a.o.Clock.After(wait):
		}
	}
}

// runOnce registers the services on the chosen interfaces and returns nil
// when they or their addresses change (after the goodbyes), or ctx's end.
// names are those kept from an earlier round (zero: probe for them).
func (a *Announcer) runOnce(ctx context.Context, names mdnsNames) (mdnsNames, error) {
	all, err := a.o.Interfaces()
	if err != nil {
		return names, err
	}
	chosen, missing := SelectMDNSIfaces(all, a.cfg.Interfaces)
	if len(missing) > 0 {
		a.o.Logger.Warn("mdns: configured interfaces not up or not multicast", "interfaces", missing)
	}
	ips := ipStrings(chosen)
	if len(chosen) == 0 || len(ips) == 0 {
		return names, errNoIface
	}
	ifaces := netIfaces(chosen)
	if names.instance == "" {
		if names, err = a.probeNames(ctx, ifaces); err != nil {
			return mdnsNames{}, err
		}
	}
	instance, host := names.instance, names.host
	var stops []func()
	defer func() {
		// Goodbyes: in reverse, the printer and page before the bench,
		// the host name's answers last.
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()
	svcs := a.services(instance, host, ips, ifaces)
	stop, err := a.o.Respond(MDNSHost{Host: host, IPs: ips, Services: svcs, Ifaces: ifaces})
	if err != nil {
		return names, fmt.Errorf("mdns: answer for %s.local: %w", host, err)
	}
	stops = append(stops, stop)
	for _, svc := range svcs {
		stop, err := a.o.Publish(svc)
		if err != nil {
			return names, fmt.Errorf("mdns: announce %s: %w", svc.Type, err)
		}
		stops = append(stops, stop)
	}
	a.o.Logger.Info("mdns: announced", "instance", instance, "host", host+".local", "interfaces", ifaceNames(chosen), "addresses", ips)
	for {
		select {
		case <-ctx.Done():
			return names, nil
		case <-a.o.Clock.After(a.o.Poll):
		}
		all, err := a.o.Interfaces()
		if err != nil {
			a.o.Logger.Warn("mdns: list interfaces", "err", err)
			continue
		}
		now, _ := SelectMDNSIfaces(all, a.cfg.Interfaces)
		if !slices.Equal(ifaceNames(now), ifaceNames(chosen)) || !slices.Equal(ipStrings(now), ips) {
			a.o.Logger.Info("mdns: interfaces or addresses changed: announcing again", "was", ips, "now", ipStrings(now))
			return names, nil
		}
	}
}

// mdnsNames are the instance and host names a bench took on the LAN; they
// are kept across re-announcements ("" until probed).
type mdnsNames struct{ instance, host string }

// probeNames picks the instance name: the configured one, or the first of
// "Name (2)", "Name (3)"… no other host answers for; and the host name
// likewise: "bench", "bench-2"… (two Raspberry Pis both called
// "raspberrypi" would otherwise mix their addresses).
func (a *Announcer) probeNames(ctx context.Context, ifaces []net.Interface) (mdnsNames, error) {
	base := a.cfg.Name
	if base == "" {
		base = a.bench.Name
	}
	// A DNS label is at most 63 bytes, with room for " (NN)".
	base = truncUTF8(base, 58)
	inst, err := a.unique(ctx, ifaces, "name", base, 100, func(n int) string { return fmt.Sprintf("%s (%d)", base, n) },
		func(s string) string { return escapeDNS(s) + "." + serviceFQDN(ServiceBench) })
	if err != nil {
		return mdnsNames{}, err
	}
	host := a.cfg.Host
	if host == "" {
		h, _ := a.o.Hostname()
		host = HostLabel(h)
	}
	host, err = a.unique(ctx, ifaces, "host", host, MaxHostVariant, func(n int) string { return hostVariant(host, n) },
		func(s string) string { return s + "." + mdnsDomain })
	return mdnsNames{inst, host}, err
}

// MaxHostVariant is the last host name variant tried: "bench-9". The API
// accepts <host>-2.local to <host>-9.local (MDNSHostNames) as its own.
const MaxHostVariant = 9

// MDNSHostNames are the names the announcer may send browsers to for the
// host h (the configured host, or HostLabel of the machine's name): h,
// h.local and the variants a collision picks, which the API's Host check
// must accept.
func MDNSHostNames(h string) []string {
	out := []string{h, h + ".local"}
	for n := 2; n <= MaxHostVariant; n++ {
		out = append(out, hostVariant(h, n)+".local")
	}
	return out
}

func hostVariant(h string, n int) string {
	return fmt.Sprintf("%s-%d", strings.TrimRight(h[:min(len(h), 60)], "-"), n)
}

// unique returns base or the first of variant(2) to variant(limit) whose
// DNS name no other host answers for.
func (a *Announcer) unique(ctx context.Context, ifaces []net.Interface, what, base string, limit int, variant func(int) string, fqdn func(string) string) (string, error) {
	for n := 1; n <= limit; n++ {
		name := base
		if n > 1 {
			name = variant(n)
		}
		taken, err := a.o.Taken(ctx, fqdn(name), ifaces)
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			return "", fmt.Errorf("mdns: probe %s %q: %w", what, name, err)
		}
		if !taken {
			if n > 1 {
				a.o.Logger.Warn("mdns: "+what+" taken by another host on the LAN: using another", what, base, "now", name)
			}
			return name, nil
		}
	}
	return "", fmt.Errorf("mdns: %s %q and its variants up to %s are all taken: set another in [mdns]", what, base, variant(limit))
}

// services are the registrations: the bench, its page, and the raw ZPL
// port when it listens. TXT holds no secret: anyone on the LAN reads it.
func (a *Announcer) services(instance, host string, ips []string, ifaces []net.Interface) []MDNSService {
	b := a.bench
	page := fmt.Sprintf("http://%s.local:%d/", host, b.APIPort)
	svc := func(typ string, port int, text ...string) MDNSService {
		return MDNSService{Instance: instance, Type: typ, Host: host, Port: port, Text: text, IPs: ips, Ifaces: ifaces}
	}
	out := []MDNSService{
		svc(ServiceBench, b.APIPort, "txtvers="+MDNSTxtVers, "id="+txtValue(b.ID), "name="+txtValue(b.Name),
			"fw="+txtValue(b.Version), "api="+APIPath),
		svc(ServiceHTTP, b.APIPort, "path=/"),
	}
	if b.Raw9100Port > 0 {
		// Bonjour Printing's keys, as CUPS and desktop printer dialogs read them.
		out = append(out, svc(ServicePrinter, b.Raw9100Port, "txtvers=1", "qtotal=1",
			"ty="+txtValue("Packbench "+b.Name), "product=(Packbench ZPL)", "note="+txtValue(b.Name),
			"pdl=application/vnd.zebra-zpl", "adminurl="+page))
	}
	return out
}

// txtValue bounds a TXT value: one string is at most 255 bytes with its key.
func txtValue(s string) string {
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// publishZeroconf registers with the host name and addresses chosen here
// (RegisterProxy), not the ones zeroconf would capture itself.
func publishZeroconf(s MDNSService) (func(), error) {
	srv, err := zeroconf.RegisterProxy(escapeDNS(s.Instance), s.Type, mdnsDomain, s.Port, s.Host, s.IPs, s.Text, s.Ifaces)
	if err != nil {
		return nil, err
	}
	return srv.Shutdown, nil
}

func ipStrings(ifs []MDNSIface) []string {
	var out []string
	for _, i := range ifs {
		for _, ip := range announcedAddrs(i) {
			out = append(out, ip.String())
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func ifaceNames(ifs []MDNSIface) []string {
	out := make([]string, 0, len(ifs))
	for _, i := range ifs {
		out = append(out, i.Name+"#"+strconv.Itoa(i.Index))
	}
	return out
}

// truncUTF8 cuts s to at most n bytes without splitting a character.
func truncUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
