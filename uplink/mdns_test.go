package uplink

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"

	"github.com/packbench/packbench/internal/clocktest"
)

func ips(s ...string) []net.IP {
	out := make([]net.IP, len(s))
	for i, a := range s {
		out[i] = net.ParseIP(a)
	}
	return out
}

const upMC = net.FlagUp | net.FlagMulticast

func TestSelectMDNSIfaces(t *testing.T) {
	all := []MDNSIface{
		{1, "lo", upMC | net.FlagLoopback, ips("127.0.0.1", "::1")},
		{2, "eth0", upMC, ips("192.168.1.20", "fe80::1", "2001:db8::20")},
		{3, "wlan0", upMC, ips("fe80::2")},                  // link-local only
		{4, "eth1", net.FlagUp, ips("10.0.0.2")},            // no multicast
		{5, "eth2", upMC, ips("169.254.3.4")},               // link-local IPv4 only
		{6, "docker0", upMC, ips("172.17.0.1")},             // container bridge
		{7, "br-1a2b3c", upMC, ips("172.18.0.1")},           // compose network
		{8, "veth12ab", upMC, ips("10.1.1.1")},              // container end
		{9, "tun0", upMC, ips("10.8.0.2")},                  // OpenVPN
		{10, "wg0", upMC, ips("10.9.0.2")},                  // WireGuard
		{11, "tailscale0", upMC, ips("100.64.0.3")},         // Tailscale
		{12, "enp3s0", upMC &^ net.FlagUp, ips("10.2.0.2")}, // down
		{13, "enp4s0", upMC, ips("10.3.0.2")},
	}
	got, missing := SelectMDNSIfaces(all, nil)
	var names []string
	for _, i := range got {
		names = append(names, i.Name)
	}
	if !slices.Equal(names, []string{"eth0", "enp4s0"}) || missing != nil {
		t.Fatalf("default choice: %v (missing %v), want eth0 and enp4s0", names, missing)
	}
	if a := ipStrings(got); !slices.Equal(a, []string{"10.3.0.2", "192.168.1.20", "2001:db8::20"}) {
		t.Fatalf("announced addresses %v: want no link-local, no loopback", a)
	}
	// An explicit list takes a veth (as the namespace tests need), and says
	// which names are not usable.
	got, missing = SelectMDNSIfaces(all, []string{"veth12ab", "eth1", "nope"})
	if len(got) != 1 || got[0].Name != "veth12ab" || !slices.Equal(missing, []string{"eth1", "nope"}) {
		t.Fatalf("explicit list: %+v missing %v", got, missing)
	}
}

func TestHostLabelAndConfig(t *testing.T) {
	for in, want := range map[string]string{
		"Bench_1.lan": "bench-1", "packbench": "packbench", "--": "packbench", "Ünï": "n", "a..b": "a",
		strings.Repeat("x", 70): strings.Repeat("x", 63),
	} {
		if got := HostLabel(in); got != want {
			t.Errorf("HostLabel(%q) = %q, want %q", in, got, want)
		}
	}
	if err := (&MDNSConfig{Host: "Bench 1"}).Validate(); err == nil || !strings.Contains(err.Error(), `"bench-1"`) {
		t.Fatalf("bad host: %v", err)
	}
	if err := (&MDNSConfig{Host: "bench-1", Name: "Bench 1 (packing)", Interfaces: []string{"eth0"}}).Validate(); err != nil {
		t.Fatal(err)
	}
	if n := MDNSHostNames("bench-1"); len(n) != 10 || n[1] != "bench-1.local" || n[2] != "bench-1-2.local" || n[9] != "bench-1-9.local" {
		t.Fatalf("host names: %v", n)
	}
	if got := truncUTF8(strings.Repeat("ä", 40), 58); len(got) != 58 || !utf8.ValidString(got) {
		t.Fatalf("truncUTF8: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
	if got := truncUTF8("ab"+strings.Repeat("ä", 40), 59); len(got) != 58 || !utf8.ValidString(got) {
		t.Fatalf("truncUTF8 mid-character: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
	if err := (&MDNSConfig{Interfaces: []string{""}}).Validate(); err == nil {
		t.Fatal("empty interface name accepted")
	}
}

func TestEscapeDNSRoundTrip(t *testing.T) {
	for _, s := range []string{"Bench 1 (2)", `a.b\c;@"`, "Bänk"} {
		esc := escapeDNS(s)
		// The wire form must be one label that unpacks to the same escapes.
		m := new(dns.Msg)
		m.SetQuestion(esc+"."+serviceFQDN(ServiceBench), dns.TypeSRV)
		b, err := m.Pack()
		if err != nil {
			t.Fatalf("%q: pack: %v", s, err)
		}
		var back dns.Msg
		if err := back.Unpack(b); err != nil {
			t.Fatal(err)
		}
		if got := back.Question[0].Name; got != esc+"."+serviceFQDN(ServiceBench) {
			t.Fatalf("%q: unpacked %q, want %q", s, got, esc)
		}
		if dns.CountLabel(back.Question[0].Name) != 4 {
			t.Fatalf("%q: %d labels", s, dns.CountLabel(back.Question[0].Name))
		}
		if u := unescapeDNS(esc); u != s {
			t.Fatalf("unescape(%q) = %q, want %q", esc, u, s)
		}
	}
}

// announce builds the response a responder sends for an instance.
func announce(instance, host string, port int, ttl uint32, txt []string, addr string) *dns.Msg {
	name := escapeDNS(instance) + "." + serviceFQDN(ServiceBench)
	m := new(dns.Msg)
	m.Response = true
	hdr := func(n string, t uint16, flush bool) dns.RR_Header {
		c := uint16(dns.ClassINET)
		if flush {
			c |= qClassCacheFlush
		}
		return dns.RR_Header{Name: n, Rrtype: t, Class: c, Ttl: ttl}
	}
	m.Answer = []dns.RR{&dns.PTR{Hdr: hdr(serviceFQDN(ServiceBench), dns.TypePTR, false), Ptr: name}}
	m.Extra = []dns.RR{
		&dns.SRV{Hdr: hdr(name, dns.TypeSRV, true), Port: uint16(port), Target: host + ".local."},
		&dns.TXT{Hdr: hdr(name, dns.TypeTXT, true), Txt: txt},
		&dns.A{Hdr: hdr(host+".local.", dns.TypeA, true), A: net.ParseIP(addr)},
	}
	return m
}

func TestMDNSCacheEvents(t *testing.T) {
	c := newMDNSCache([]string{ServiceBench})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	txt := []string{"txtvers=1", "id=dev-1", "name=Bench 1", "fw=1.2.3", "api=/api/v1", "id=second"}

	// A probe (a query with records in Ns) is not an announcement.
	probe := announce("Bench 1", "bench-1", 8080, 120, txt, "10.0.0.1")
	probe.Response, probe.Ns, probe.Extra = false, probe.Extra, nil
	if ev := c.apply(probe, now); len(ev) != 0 {
		t.Fatalf("probe gave %+v", ev)
	}

	ev := c.apply(announce("Bench 1", "bench-1", 8080, 120, txt, "10.0.0.1"), now)
	if len(ev) != 1 || ev[0].Kind != FoundAdd {
		t.Fatalf("announcement: %+v", ev)
	}
	f := ev[0].Found
	if f.Instance != "Bench 1" || f.Service != ServiceBench || f.Host != "bench-1.local" || f.Port != 8080 ||
		!slices.Equal(f.Addrs, []string{"10.0.0.1"}) || f.Text["id"] != "dev-1" || f.Text["fw"] != "1.2.3" {
		t.Fatalf("found %+v", f)
	}
	// The same again refreshes silently; a new address is a change (the
	// cache-flush A replaces the old one).
	if ev := c.apply(announce("Bench 1", "bench-1", 8080, 120, txt, "10.0.0.1"), now.Add(time.Second)); len(ev) != 0 {
		t.Fatalf("repeat: %+v", ev)
	}
	ev = c.apply(announce("Bench 1", "bench-1", 8080, 120, txt, "10.0.0.9"), now.Add(2*time.Second))
	if len(ev) != 1 || ev[0].Kind != FoundUpdate || !slices.Equal(ev[0].Found.Addrs, []string{"10.0.0.9"}) {
		t.Fatalf("address change: %+v", ev)
	}

	// A goodbye (TTL 0) is a departure at once.
	ev = c.apply(announce("Bench 1", "bench-1", 8080, 0, txt, "10.0.0.9"), now.Add(3*time.Second))
	if len(ev) != 1 || ev[0].Kind != FoundRemove || ev[0].Reason != GoneGoodbye || ev[0].Found.Instance != "Bench 1" {
		t.Fatalf("goodbye: %+v", ev)
	}
	if len(c.inst) != 0 || !c.next().IsZero() {
		t.Fatalf("after goodbye the cache holds %d instances, next expiry %v", len(c.inst), c.next())
	}

	// A bench that vanishes without goodbye is gone when its TTL runs out.
	t0 := now.Add(10 * time.Second)
	if ev := c.apply(announce("Bench 2", "bench-2", 8081, 30, txt, "10.0.0.2"), t0); len(ev) != 1 || ev[0].Kind != FoundAdd {
		t.Fatalf("bench 2: %+v", ev)
	}
	if nx := c.next(); !nx.Equal(t0.Add(30 * time.Second)) {
		t.Fatalf("next expiry %v, want %v", nx, t0.Add(30*time.Second))
	}
	if ev := c.expire(t0.Add(29 * time.Second)); len(ev) != 0 {
		t.Fatalf("expired early: %+v", ev)
	}
	ev = c.expire(t0.Add(30 * time.Second))
	if len(ev) != 1 || ev[0].Kind != FoundRemove || ev[0].Reason != GoneExpired || ev[0].Found.Instance != "Bench 2" {
		t.Fatalf("expiry: %+v", ev)
	}
	// Other services' records are not ours.
	other := announce("Printer", "p", 631, 120, nil, "10.0.0.3")
	other.Answer[0].(*dns.PTR).Hdr.Name = "_ipp._tcp.local."
	other.Answer[0].(*dns.PTR).Ptr = "Printer._ipp._tcp.local."
	other.Extra[0].(*dns.SRV).Hdr.Name = "Printer._ipp._tcp.local."
	if ev := c.apply(other, t0); len(ev) != 0 {
		t.Fatalf("other service: %+v", ev)
	}
}

// fakeNet is the announcer's world in the unit test: interfaces that the
// test changes, and registrations recorded instead of sent.
type fakeNet struct {
	mu     sync.Mutex
	ifaces []MDNSIface
	log    chan string // "publish TYPE INSTANCE IPS TXT" and "stop TYPE"
}

func (f *fakeNet) list() ([]MDNSIface, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ifaces), nil
}

func (f *fakeNet) set(i []MDNSIface) {
	f.mu.Lock()
	f.ifaces = i
	f.mu.Unlock()
}

func (f *fakeNet) publish(s MDNSService) (func(), error) {
	f.log <- "publish " + s.Type + " " + s.Instance + " " + s.Host + ":" + strconv.Itoa(s.Port) + " " + strings.Join(s.IPs, ",") + " " + strings.Join(s.Text, "|")
	return func() { f.log <- "stop " + s.Type }, nil
}

func (f *fakeNet) respond(h MDNSHost) (func(), error) {
	f.log <- "respond " + h.Host + " " + strings.Join(h.IPs, ",") + " " + strconv.Itoa(len(h.Services))
	return func() { f.log <- "stop responder" }, nil
}

func recv(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("nothing happened")
		return ""
	}
}

func TestAnnouncerReannouncesOnAddressChange(t *testing.T) {
	clk := clocktest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	fn := &fakeNet{log: make(chan string, 32), ifaces: []MDNSIface{
		{1, "lo", upMC | net.FlagLoopback, ips("127.0.0.1")},
		{2, "eth0", upMC, ips("192.168.1.20")},
		{3, "docker0", upMC, ips("172.17.0.1")},
	}}
	var probed []string
	a := NewAnnouncer(MDNSConfig{Enabled: true, Host: "bench-1"},
		MDNSBench{ID: "dev-1", Name: "Bench 1", Version: "1.2.3", APIPort: 8080, Raw9100Port: 9100},
		&MDNSOptions{Clock: clk, Interfaces: fn.list, Publish: fn.publish, Respond: fn.respond, Poll: 5 * time.Second,
			Taken: func(_ context.Context, name string, ifs []net.Interface) (bool, error) {
				probed = append(probed, name)
				if len(ifs) != 1 || ifs[0].Name != "eth0" {
					t.Errorf("probe of %q on %+v", name, ifs)
				}
				// Another bench has the name, another host the host name.
				return name == `Bench\ 1._packbench._tcp.local.` || name == "bench-1.local.", nil
			}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()

	want := []string{
		"respond bench-1-2 192.168.1.20 3",
		"publish _packbench._tcp Bench 1 (2) bench-1-2:8080 192.168.1.20 txtvers=1|id=dev-1|name=Bench 1|fw=1.2.3|api=/api/v1",
		"publish _http._tcp Bench 1 (2) bench-1-2:8080 192.168.1.20 path=/",
		"publish _pdl-datastream._tcp Bench 1 (2) bench-1-2:9100 192.168.1.20 txtvers=1|qtotal=1|ty=Packbench Bench 1|product=(Packbench ZPL)|note=Bench 1|pdl=application/vnd.zebra-zpl|adminurl=http://bench-1-2.local:8080/",
	}
	for _, w := range want {
		if got := recv(t, fn.log); got != w {
			t.Fatalf("got  %s\nwant %s", got, w)
		}
	}
	if !slices.Equal(probed, []string{`Bench\ 1._packbench._tcp.local.`, `Bench\ 1\ \(2\)._packbench._tcp.local.`, "bench-1.local.", "bench-1-2.local."}) {
		t.Fatalf("probed %v", probed)
	}

	// A poll with nothing changed announces nothing: once the next poll
	// waits, the check has run.
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := clk.WaitWaiters(wctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Second)
	if err := clk.WaitWaiters(wctx, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-fn.log:
		t.Fatalf("unchanged addresses: %s", s)
	default:
	}

	// DHCP gives eth0 a new address: goodbyes, then the same name again
	// with the new address (no new probe: the name is ours).
	fn.set([]MDNSIface{{2, "eth0", upMC, ips("192.168.1.77")}})
	clk.Advance(5 * time.Second)
	for _, w := range []string{"stop _pdl-datastream._tcp", "stop _http._tcp", "stop _packbench._tcp", "stop responder"} {
		if got := recv(t, fn.log); got != w {
			t.Fatalf("got %s, want %s", got, w)
		}
	}
	for i := range want {
		got := recv(t, fn.log)
		if w := strings.ReplaceAll(want[i], " 192.168.1.20 ", " 192.168.1.77 "); got != w {
			t.Fatalf("re-announce: got  %s\nwant %s", got, w)
		}
	}
	if len(probed) != 4 {
		t.Fatalf("probed again: %v", probed)
	}

	// All interfaces gone: goodbyes, then retries with backoff until one
	// comes back.
	if err := clk.WaitWaiters(wctx, 1); err != nil { // the next poll
		t.Fatal(err)
	}
	fn.set(nil)
	clk.Advance(5 * time.Second)
	for range 4 {
		if got := recv(t, fn.log); !strings.HasPrefix(got, "stop ") {
			t.Fatalf("got %s, want goodbyes", got)
		}
	}
	if err := clk.WaitWaiters(wctx, 1); err != nil {
		t.Fatal(err)
	}
	fn.set([]MDNSIface{{2, "eth0", upMC, ips("192.168.1.78")}})
	clk.Advance(time.Minute)
	if got := recv(t, fn.log); !strings.Contains(got, " 192.168.1.78 ") {
		t.Fatalf("after the interface came back: %s", got)
	}
	for range 3 {
		recv(t, fn.log)
	}

	// Shutdown: goodbyes for all three, the responder stops, Run returns.
	cancel()
	for range 4 {
		if got := recv(t, fn.log); !strings.HasPrefix(got, "stop ") {
			t.Fatalf("shutdown: %s", got)
		}
	}
	<-done
}

func TestResponderAnswers(t *testing.T) {
	h := &MDNSHost{Host: "bench-1", IPs: []string{"10.0.0.1", "2001:db8::1"}, Services: []MDNSService{
		{Instance: "Bench 1", Type: ServiceBench, Port: 8080, Text: []string{"txtvers=1", "id=dev-1"}},
	}}
	// A resolver asking for the host name over mDNS: multicast answer,
	// host TTL, cache-flush.
	q := new(dns.Msg)
	q.SetQuestion("Bench-1.local.", dns.TypeA)
	r := h.answer(q, false)
	if r == nil || len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "10.0.0.1" ||
		r.Answer[0].Header().Ttl != hostTTL || r.Answer[0].Header().Class&qClassCacheFlush == 0 || len(r.Question) != 0 {
		t.Fatalf("host A: %v", r)
	}
	q.SetQuestion("bench-1.local.", dns.TypeANY)
	if r := h.answer(q, false); r == nil || len(r.Answer) != 2 {
		t.Fatalf("host ANY: %v", r)
	}
	// Service queries over mDNS are zeroconf's: no second answer.
	q.SetQuestion(serviceFQDN(ServiceBench), dns.TypePTR)
	if r := h.answer(q, false); r != nil {
		t.Fatalf("mDNS PTR answered twice: %v", r)
	}
	// The same from a legacy client (dig): unicast-style answer with its
	// id and question, TTL at most 10 s, no cache-flush bit.
	q.Id = 4242
	r = h.answer(q, true)
	if r == nil || r.Id != 4242 || len(r.Question) != 1 || len(r.Answer) != 1 || r.Answer[0].(*dns.PTR).Ptr != `Bench\ 1._packbench._tcp.local.` {
		t.Fatalf("legacy PTR: %v", r)
	}
	for _, rr := range append(r.Answer, r.Extra...) {
		if rr.Header().Ttl > legacyTTL || rr.Header().Class != dns.ClassINET {
			t.Fatalf("legacy record %v: TTL over 10 or cache-flush set", rr)
		}
	}
	if len(r.Extra) != 4 { // SRV, TXT, A, AAAA
		t.Fatalf("legacy PTR extras: %v", r.Extra)
	}
	q.SetQuestion(`Bench\ 1._packbench._tcp.local.`, dns.TypeTXT)
	if r := h.answer(q, true); r == nil || len(r.Answer) != 1 || r.Answer[0].(*dns.TXT).Txt[1] != "id=dev-1" {
		t.Fatalf("legacy TXT: %v", r)
	}
	q.SetQuestion("other.local.", dns.TypeA)
	if r := h.answer(q, true); r != nil {
		t.Fatalf("other host answered: %v", r)
	}
}

// TestBrowseLoopExpiry: the browse loop turns a response into an arrival
// and, with no refresh, the TTL's end into a departure, on the injected
// clock; a bench that is refreshed stays.
func TestBrowseLoopExpiry(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	pc := ipv4.NewPacketConn(c)
	defer pc.Close()
	clk := clocktest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	msgs := make(chan mdnsMsg)
	out := make(chan BrowseEvent)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		// No interfaces: the loop sends no query, the test feeds responses.
		browseLoop(ctx, pc, nil, []string{ServiceBench}, &BrowseOptions{Clock: clk, MaxQueryInterval: time.Hour}, msgs, out)
		close(done)
	}()
	defer func() { cancel(); <-done }()
	next := func() BrowseEvent {
		t.Helper()
		select {
		case ev := <-out:
			return ev
		case <-time.After(10 * time.Second):
			t.Fatal("no event")
			return BrowseEvent{}
		}
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	// due waits until the loop waits for the expiry d ahead, so Advance
	// cannot come between its reading the time and its waiting.
	due := func(d time.Duration) {
		t.Helper()
		for !slices.Contains(clk.Pending(), d) {
			if err := clk.WaitWaiters(wctx, clk.Waiters()+1); err != nil {
				t.Fatalf("no wait of %v: pending %v: %v", d, clk.Pending(), err)
			}
		}
	}

	for _, want := range []string{"Bench 1", "Bench 2"} {
		msgs <- mdnsMsg{announce(want, "host", 8080, 30, []string{"txtvers=1"}, "10.0.0.1"), clk.Now()}
		if ev := next(); ev.Kind != FoundAdd || ev.Found.Instance != want {
			t.Fatalf("got %+v, want the arrival of %s", ev, want)
		}
	}
	// Bench 2 answers again 20 s later; Bench 1 is silent.
	due(30 * time.Second)
	clk.Advance(20 * time.Second)
	msgs <- mdnsMsg{announce("Bench 2", "host", 8080, 30, []string{"txtvers=1"}, "10.0.0.1"), clk.Now()}
	due(10 * time.Second)
	clk.Advance(10 * time.Second) // Bench 1's TTL ends
	if ev := next(); ev.Kind != FoundRemove || ev.Reason != GoneExpired || ev.Found.Instance != "Bench 1" {
		t.Fatalf("got %+v, want Bench 1 expired", ev)
	}
	due(20 * time.Second)
	clk.Advance(20 * time.Second) // and Bench 2's refreshed one
	if ev := next(); ev.Kind != FoundRemove || ev.Reason != GoneExpired || ev.Found.Instance != "Bench 2" {
		t.Fatalf("got %+v, want Bench 2 expired", ev)
	}
}
