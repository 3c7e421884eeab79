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
	if len(c.Name) > 63 {
		return fmt.Errorf("mdns.name: at most 63 bytes, got %d", len(c.Name))
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
	// Taken says whether another host answers for the instance name of a
	// service type (the collision probe); nil: a lookup on the network
	// (ProbeWindow long).
	Taken func(ctx context.Context, instance, service string, ifaces []net.Interface) (bool, error)
	// ProbeWindow is how long the default Taken listens; 0: 1s.
	ProbeWindow time.Duration
	// Respond answers host-name and legacy unicast queries for the
	// services until its stop is called; nil: the real responder.
	Respond func(MDNSHost) (func(), error)
	// Announced is told each time the services were (re-)registered, with
	// the instance name and the addresses; tests and logs use it.
	Announced func(instance string, ips []string)
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
		a.o.Taken = func(ctx context.Context, instance, service string, ifaces []net.Interface) (bool, error) {
			return instanceTaken(ctx, instance, service, ifaces, a.o.ProbeWindow)
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
	instance := ""
	for ctx.Err() == nil {
		var err error
		instance, err = a.runOnce(ctx, instance)
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
// instance is the name kept from an earlier round ("" probes for one).
func (a *Announcer) runOnce(ctx context.Context, instance string) (string, error) {
	all, err := a.o.Interfaces()
	if err != nil {
		return instance, err
	}
	chosen, missing := SelectMDNSIfaces(all, a.cfg.Interfaces)
	if len(missing) > 0 {
		a.o.Logger.Warn("mdns: configured interfaces not up or not multicast", "interfaces", missing)
	}
	ips := ipStrings(chosen)
	if len(chosen) == 0 || len(ips) == 0 {
		return instance, errNoIface
	}
	ifaces := netIfaces(chosen)
	if instance == "" {
		if instance, err = a.uniqueName(ctx, ifaces); err != nil {
			return "", err
		}
	}
	host := a.cfg.Host
	if host == "" {
		h, _ := a.o.Hostname()
		host = HostLabel(h)
	}
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
		return instance, fmt.Errorf("mdns: answer for %s.local: %w", host, err)
	}
	stops = append(stops, stop)
	for _, svc := range svcs {
		stop, err := a.o.Publish(svc)
		if err != nil {
			return instance, fmt.Errorf("mdns: announce %s: %w", svc.Type, err)
		}
		stops = append(stops, stop)
	}
	a.o.Logger.Info("mdns: announced", "instance", instance, "host", host+".local", "interfaces", ifaceNames(chosen), "addresses", ips)
	if a.o.Announced != nil {
		a.o.Announced(instance, ips)
	}
	for {
		select {
		case <-ctx.Done():
			return instance, nil
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
			return instance, nil
		}
	}
}

// uniqueName is the configured name, or the first of "Name (2)", "Name (3)"…
// no other host answers for.
func (a *Announcer) uniqueName(ctx context.Context, ifaces []net.Interface) (string, error) {
	base := a.cfg.Name
	if base == "" {
		base = a.bench.Name
	}
	for n := 1; n <= 100; n++ {
		name := base
		if n > 1 {
			name = fmt.Sprintf("%s (%d)", base, n)
		}
		taken, err := a.o.Taken(ctx, name, ServiceBench, ifaces)
		if err != nil {
			return "", fmt.Errorf("mdns: probe %q: %w", name, err)
		}
		if !taken {
			if n > 1 {
				a.o.Logger.Warn("mdns: name taken by another bench on the LAN: using another", "name", base, "now", name)
			}
			return name, nil
		}
	}
	return "", fmt.Errorf("mdns: %q and 99 variants are all taken", base)
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
