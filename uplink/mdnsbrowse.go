package uplink

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"

	"github.com/packbench/packbench/internal/clock"
)

// The browser is our own small mDNS client rather than zeroconf's Browse:
// that one reports each instance once and never a removal (zeroconf #65),
// and --watch needs departures, from goodbyes (TTL 0) and TTL expiry.

// Found is one service instance seen on the LAN.
type Found struct {
	Instance string            `json:"instance"` // "Bench 1", unescaped
	Service  string            `json:"service"`  // "_packbench._tcp"
	Host     string            `json:"host"`     // "bench-1.local"
	Port     int               `json:"port"`
	Addrs    []string          `json:"addresses"` // sorted
	Text     map[string]string `json:"txt"`
	Expires  time.Time         `json:"-"`
}

// Browse event kinds.
const (
	FoundAdd    = "add"
	FoundUpdate = "update"
	FoundRemove = "remove"
)

// Reasons of a FoundRemove.
const (
	GoneGoodbye = "goodbye" // the service said so (TTL 0)
	GoneExpired = "expired" // its records' TTL ran out unrefreshed
)

// BrowseEvent is an arrival, a change or a departure.
type BrowseEvent struct {
	Kind   string `json:"event"`
	Reason string `json:"reason,omitempty"`
	Found  Found  `json:"found"`
}

// mdnsCache holds what the responses said, per instance, and turns each
// response and each expiry into events. Not safe for concurrent use: the
// browse loop owns it.
type mdnsCache struct {
	services []string // full service names, "_packbench._tcp.local."
	inst     map[string]*cacheEntry
	hosts    map[string]map[string]time.Time // host → address → expiry
}

type cacheEntry struct {
	service    string
	ptrExpires time.Time
	srvTarget  string
	port       int
	srvExpires time.Time
	txt        []string
	goodbye    bool   // the last PTR or SRV had TTL 0
	shown      *Found // what the last event said; nil while not shown
}

func newMDNSCache(services []string) *mdnsCache {
	c := &mdnsCache{inst: map[string]*cacheEntry{}, hosts: map[string]map[string]time.Time{}}
	for _, s := range services {
		c.services = append(c.services, serviceFQDN(s))
	}
	return c
}

func serviceFQDN(s string) string { return strings.Trim(s, ".") + "." + mdnsDomain }

func ttlAt(now time.Time, ttl uint32) time.Time { return now.Add(time.Duration(ttl) * time.Second) }

// apply takes one response and returns the events it causes.
func (c *mdnsCache) apply(m *dns.Msg, now time.Time) []BrowseEvent {
	if !m.Response {
		return nil // queries, and probes with records in Ns, say nothing
	}
	rrs := append(slices.Clone(m.Answer), m.Extra...)
	var gone []string
	flushed := map[string]bool{}
	for _, rr := range rrs {
		h := rr.Header()
		switch r := rr.(type) {
		case *dns.PTR:
			if !slices.Contains(c.services, r.Hdr.Name) {
				continue
			}
			e := c.entry(r.Ptr, r.Hdr.Name)
			if h.Ttl == 0 {
				gone = append(gone, r.Ptr)
				continue
			}
			e.ptrExpires, e.goodbye = ttlAt(now, h.Ttl), false
		case *dns.SRV:
			e, ok := c.inst[r.Hdr.Name]
			if !ok {
				svc := c.serviceOf(r.Hdr.Name)
				if svc == "" {
					continue
				}
				e = c.entry(r.Hdr.Name, svc)
			}
			if h.Ttl == 0 {
				gone = append(gone, r.Hdr.Name)
				continue
			}
			e.srvTarget, e.port, e.srvExpires = r.Target, int(r.Port), ttlAt(now, h.Ttl)
		case *dns.TXT:
			if e, ok := c.inst[r.Hdr.Name]; ok && h.Ttl > 0 {
				e.txt = slices.Clone(r.Txt)
			}
		case *dns.A, *dns.AAAA:
			var ip net.IP
			if a, ok := r.(*dns.A); ok {
				ip = a.A
			} else {
				ip = r.(*dns.AAAA).AAAA
			}
			name := strings.ToLower(h.Name)
			addrs := c.hosts[name]
			if addrs == nil || (h.Class&qClassCacheFlush != 0 && !flushed[name]) {
				// A cache-flush record replaces the host's older addresses
				// (RFC 6762 10.2), once per response.
				addrs = map[string]time.Time{}
				c.hosts[name] = addrs
				flushed[name] = true
			}
			if h.Ttl == 0 {
				delete(addrs, ip.String())
			} else {
				addrs[ip.String()] = ttlAt(now, h.Ttl)
			}
		}
	}
	for _, name := range gone {
		if e := c.inst[name]; e != nil {
			e.ptrExpires, e.goodbye = time.Time{}, true
		}
	}
	return c.events(now)
}

// qClassCacheFlush is the cache-flush bit of a response record's class.
const qClassCacheFlush = 1 << 15

func (c *mdnsCache) serviceOf(instance string) string {
	for _, s := range c.services {
		if strings.HasSuffix(instance, "."+s) {
			return s
		}
	}
	return ""
}

func (c *mdnsCache) entry(instance, service string) *cacheEntry {
	e, ok := c.inst[instance]
	if !ok {
		e = &cacheEntry{service: service}
		c.inst[instance] = e
	}
	return e
}

// expire drops what outlived its TTL and returns the departures.
func (c *mdnsCache) expire(now time.Time) []BrowseEvent {
	for _, addrs := range c.hosts {
		for a, exp := range addrs {
			if !now.Before(exp) {
				delete(addrs, a)
			}
		}
	}
	return c.events(now)
}

// next is the earliest expiry ahead, zero when nothing expires.
func (c *mdnsCache) next() time.Time {
	var t time.Time
	early := func(x time.Time) {
		if !x.IsZero() && (t.IsZero() || x.Before(t)) {
			t = x
		}
	}
	for _, e := range c.inst {
		early(e.ptrExpires)
		if e.shown != nil {
			early(e.srvExpires)
		}
	}
	for _, addrs := range c.hosts {
		for _, exp := range addrs {
			early(exp)
		}
	}
	return t
}

// events compares each instance with what was last shown. An instance is
// shown while its PTR and SRV are alive; one that stops being alive is
// gone, by goodbye or by expiry.
func (c *mdnsCache) events(now time.Time) []BrowseEvent {
	var out []BrowseEvent
	names := make([]string, 0, len(c.inst))
	for n := range c.inst {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		e := c.inst[name]
		alive := now.Before(e.ptrExpires) && now.Before(e.srvExpires)
		if !alive {
			if e.shown != nil {
				why := GoneExpired
				if e.goodbye {
					why = GoneGoodbye
				}
				out = append(out, BrowseEvent{Kind: FoundRemove, Reason: why, Found: *e.shown})
			}
			if e.ptrExpires.IsZero() || !now.Before(e.ptrExpires) {
				delete(c.inst, name)
			} else {
				e.shown = nil
			}
			continue
		}
		f := c.found(name, e)
		switch {
		case e.shown == nil:
			out = append(out, BrowseEvent{Kind: FoundAdd, Found: f})
		case !sameFound(*e.shown, f):
			out = append(out, BrowseEvent{Kind: FoundUpdate, Found: f})
		default:
			e.shown.Expires = f.Expires
			continue
		}
		e.shown = &f
	}
	return out
}

func (c *mdnsCache) found(name string, e *cacheEntry) Found {
	f := Found{
		Instance: unescapeDNS(strings.TrimSuffix(name, "."+e.service)),
		Service:  strings.TrimSuffix(e.service, "."+mdnsDomain),
		Host:     strings.TrimSuffix(e.srvTarget, "."),
		Port:     e.port,
		Text:     map[string]string{},
		Expires:  e.ptrExpires,
	}
	for a := range c.hosts[strings.ToLower(e.srvTarget)] {
		f.Addrs = append(f.Addrs, a)
	}
	slices.Sort(f.Addrs)
	for _, kv := range e.txt {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := f.Text[strings.ToLower(k)]; k != "" && !dup {
			f.Text[strings.ToLower(k)] = v // the first of a repeated key counts (RFC 6763 6.4)
		}
	}
	return f
}

func sameFound(a, b Found) bool {
	return a.Host == b.Host && a.Port == b.Port && slices.Equal(a.Addrs, b.Addrs) && fmt.Sprint(a.Text) == fmt.Sprint(b.Text)
}

// unescapeDNS undoes miekg/dns's presentation escapes (\X and \DDD).
func unescapeDNS(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b = append(b, s[i])
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			n, _ := strconv.Atoi(s[i+1 : i+4])
			b = append(b, byte(n))
			i += 3
			continue
		}
		b = append(b, s[i+1])
		i++
	}
	return string(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// escapeDNS writes an instance name as one presentation-format label, the
// form miekg/dns compares names in, so zeroconf answers queries for a name
// with spaces or dots.
func escapeDNS(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case strings.IndexByte(`.();@ "\`, c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// BrowseOptions are the browser's dependencies; nil fields are the real
// ones.
type BrowseOptions struct {
	Clock clock.Clock
	// Ifaces to browse on; nil: every up, multicast-capable, non-loopback
	// interface (browsing is harmless where announcing is not).
	Ifaces []net.Interface
	// MaxQueryInterval caps the doubling gap between queries; 0: 60s.
	MaxQueryInterval time.Duration
}

// mdnsGroup is the IPv4 mDNS group and port.
var mdnsGroup = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}

// Browse queries for the service types and sends arrivals, changes and
// departures on the returned channel until ctx ends, then closes it.
func Browse(ctx context.Context, services []string, opts *BrowseOptions) (<-chan BrowseEvent, error) {
	var o BrowseOptions
	if opts != nil {
		o = *opts
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.MaxQueryInterval <= 0 {
		o.MaxQueryInterval = time.Minute
	}
	ifaces := o.Ifaces
	if ifaces == nil {
		all, err := net.Interfaces()
		if err != nil {
			return nil, fmt.Errorf("mdns browse: %w", err)
		}
		for _, i := range all {
			if i.Flags&net.FlagUp != 0 && i.Flags&net.FlagMulticast != 0 && i.Flags&net.FlagLoopback == 0 {
				ifaces = append(ifaces, i)
			}
		}
	}
	pc, err := joinMDNS(ifaces)
	if err != nil {
		return nil, err
	}
	msgs := make(chan mdnsMsg, 64)
	go readMDNS(pc, msgs, o.Clock)
	out := make(chan BrowseEvent, 16)
	go func() {
		defer close(out)
		browseLoop(ctx, pc, ifaces, services, &o, msgs, out)
		pc.Close()
		for range msgs { // the reader ends with the socket
		}
	}()
	return out, nil
}

// joinMDNS opens the mDNS port (shared with other responders: Go sets
// SO_REUSEADDR and SO_REUSEPORT on a multicast address) and joins the
// group on each interface.
func joinMDNS(ifaces []net.Interface) (*ipv4.PacketConn, error) {
	c, err := net.ListenUDP("udp4", mdnsGroup)
	if err != nil {
		return nil, fmt.Errorf("mdns: listen %s: %w", mdnsGroup, err)
	}
	pc := ipv4.NewPacketConn(c)
	joined := 0
	for i := range ifaces {
		if pc.JoinGroup(&ifaces[i], &net.UDPAddr{IP: mdnsGroup.IP}) == nil {
			joined++
		}
	}
	if joined == 0 {
		pc.Close()
		return nil, fmt.Errorf("mdns: joined the group on none of %d interfaces", len(ifaces))
	}
	_ = pc.SetMulticastLoopback(true) // benches on this host answer too
	return pc, nil
}

// mdnsMsg is a message with the time it arrived, from which its TTLs run.
type mdnsMsg struct {
	*dns.Msg
	at time.Time
}

// readMDNS reads datagrams until the socket closes, then closes msgs.
func readMDNS(pc *ipv4.PacketConn, msgs chan<- mdnsMsg, clk clock.Clock) {
	defer close(msgs)
	buf := make([]byte, 9000)
	for {
		n, _, _, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		m := new(dns.Msg)
		if m.Unpack(buf[:n]) != nil {
			continue
		}
		msgs <- mdnsMsg{m, clk.Now()}
	}
}

// sendQuery asks for the names' records of type qtype on every interface.
func sendQuery(pc *ipv4.PacketConn, ifaces []net.Interface, qtype uint16, names ...string) {
	m := new(dns.Msg)
	for _, n := range names {
		m.Question = append(m.Question, dns.Question{Name: n, Qtype: qtype, Qclass: dns.ClassINET})
	}
	buf, err := m.Pack()
	if err != nil {
		return
	}
	for _, i := range ifaces {
		// Best effort: a lost query is repeated by the schedule.
		_, _ = pc.WriteTo(buf, &ipv4.ControlMessage{IfIndex: i.Index}, mdnsGroup)
	}
}

func browseLoop(ctx context.Context, pc *ipv4.PacketConn, ifaces []net.Interface, services []string, o *BrowseOptions, msgs <-chan mdnsMsg, out chan<- BrowseEvent) {
	cache := newMDNSCache(services)
	gap := time.Second
	query := o.Clock.After(0)
	send := func(evs []BrowseEvent) bool {
		for _, ev := range evs {
			select {
			case out <- ev:
			case <-ctx.Done():
				return false
			}
		}
		return true
	}
	var expiry <-chan time.Time
	var expiryAt time.Time
	for {
		// One timer for the earliest expiry, made again only when that
		// changes.
		if t := cache.next(); !t.Equal(expiryAt) {
			expiryAt, expiry = t, nil
			if !t.IsZero() {
				expiry = o.Clock.After(t.Sub(o.Clock.Now()))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-query:
			sendQuery(pc, ifaces, dns.TypePTR, cache.services...)
			query = o.Clock.After(gap)
			gap = min(2*gap, o.MaxQueryInterval)
		case m, ok := <-msgs:
			if !ok {
				return
			}
			if !send(cache.apply(m.Msg, m.at)) {
				return
			}
		case <-expiry:
			expiryAt = time.Time{}
			if !send(cache.expire(o.Clock.Now())) {
				return
			}
		}
	}
}

// nameTaken says whether any host answers for a DNS name (presentation
// form) within window: the probe before taking a name.
func nameTaken(ctx context.Context, name string, ifaces []net.Interface, window time.Duration) (bool, error) {
	pc, err := joinMDNS(ifaces)
	if err != nil {
		return false, err
	}
	msgs := make(chan mdnsMsg, 64)
	go readMDNS(pc, msgs, clock.Real{})
	defer func() {
		pc.Close()
		for range msgs { // the reader ends with the socket
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	sendQuery(pc, ifaces, dns.TypeANY, name)
	lower := strings.ToLower(name)
	for {
		select {
		case <-ctx.Done():
			return false, nil
		case m, ok := <-msgs:
			if !ok {
				return false, nil
			}
			if !m.Response {
				continue
			}
			for _, rr := range append(m.Answer, m.Extra...) {
				if h := rr.Header(); strings.ToLower(h.Name) == lower && h.Ttl > 0 {
					return true, nil
				}
			}
		}
	}
}
