package uplink

import (
	"net"
	"strings"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
)

// The responder answers what zeroconf's server leaves unanswered: queries
// for the host name's addresses (<host>.local A/AAAA, how a browser
// resolves http://<host>.local/), and legacy unicast queries (RFC 6762
// 6.7: a plain DNS client such as dig sending from a port other than 5353,
// which expects a unicast answer echoing its id and question). zeroconf
// keeps answering mDNS queries for the services, so nothing is answered
// twice.

// MDNSHost is what the responder answers for.
type MDNSHost struct {
	Host     string // one label: answers <host>.local
	IPs      []string
	Services []MDNSService
	Ifaces   []net.Interface
}

// Record TTLs: RFC 6762 10 recommends 120 s for host records; legacy
// unicast answers must not exceed 10 s.
const (
	hostTTL   = 120
	legacyTTL = 10
)

// respond answers queries until the returned stop is called.
func respond(h MDNSHost) (func(), error) {
	pc, err := joinMDNS(h.Ifaces)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 9000)
		for {
			n, _, src, err := pc.ReadFrom(buf)
			if err != nil {
				return // closed by stop
			}
			var q dns.Msg
			if q.Unpack(buf[:n]) != nil || q.Response || len(q.Ns) > 0 {
				continue // not a plain query (answers, and probes with records in Ns)
			}
			ua, _ := src.(*net.UDPAddr)
			if ua == nil {
				continue
			}
			legacy := ua.Port != mdnsGroup.Port
			if resp := h.answer(&q, legacy); resp != nil {
				b, err := resp.Pack()
				if err != nil {
					continue
				}
				if legacy {
					_, _ = pc.WriteTo(b, nil, ua)
					continue
				}
				for _, i := range h.Ifaces {
					_, _ = pc.WriteTo(b, &ipv4.ControlMessage{IfIndex: i.Index}, mdnsGroup)
				}
			}
		}
	}()
	return func() { pc.Close(); <-done }, nil
}

// answer is the response to q, or nil when there is none of ours to give.
func (h *MDNSHost) answer(q *dns.Msg, legacy bool) *dns.Msg {
	hostName := h.Host + "." + mdnsDomain
	ttl := uint32(hostTTL)
	class := uint16(dns.ClassINET | qClassCacheFlush)
	if legacy {
		ttl, class = legacyTTL, dns.ClassINET
	}
	resp := new(dns.Msg)
	resp.Response, resp.Authoritative = true, true
	if legacy {
		resp.Id, resp.Question = q.Id, q.Question
	}
	hdr := func(name string, t uint16, cl uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: cl, Ttl: ttl}
	}
	addrs := func() []dns.RR {
		var out []dns.RR
		for _, s := range h.IPs {
			ip := net.ParseIP(s)
			if ip4 := ip.To4(); ip4 != nil {
				out = append(out, &dns.A{Hdr: hdr(hostName, dns.TypeA, class), A: ip4})
			} else if ip != nil {
				out = append(out, &dns.AAAA{Hdr: hdr(hostName, dns.TypeAAAA, class), AAAA: ip})
			}
		}
		return out
	}
	for _, qq := range q.Question {
		name := strings.ToLower(qq.Name)
		switch {
		case name == strings.ToLower(hostName):
			for _, rr := range addrs() {
				if qq.Qtype == dns.TypeANY || qq.Qtype == rr.Header().Rrtype {
					resp.Answer = append(resp.Answer, rr)
				}
			}
		case legacy:
			for _, s := range h.Services {
				inst := escapeDNS(s.Instance) + "." + serviceFQDN(s.Type)
				srv := &dns.SRV{Hdr: hdr(inst, dns.TypeSRV, class), Port: uint16(s.Port), Target: hostName}
				txt := &dns.TXT{Hdr: hdr(inst, dns.TypeTXT, class), Txt: s.Text}
				switch {
				case name == strings.ToLower(serviceFQDN(s.Type)) && (qq.Qtype == dns.TypePTR || qq.Qtype == dns.TypeANY):
					resp.Answer = append(resp.Answer, &dns.PTR{Hdr: hdr(serviceFQDN(s.Type), dns.TypePTR, dns.ClassINET), Ptr: inst})
					resp.Extra = append(resp.Extra, srv, txt)
					resp.Extra = append(resp.Extra, addrs()...)
				case name == strings.ToLower(inst):
					if qq.Qtype == dns.TypeSRV || qq.Qtype == dns.TypeANY {
						resp.Answer = append(resp.Answer, srv)
						resp.Extra = append(resp.Extra, addrs()...)
					}
					if qq.Qtype == dns.TypeTXT || qq.Qtype == dns.TypeANY {
						resp.Answer = append(resp.Answer, txt)
					}
				}
			}
		}
	}
	if len(resp.Answer) == 0 {
		return nil
	}
	return resp
}
