package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/packbench/packbench/uplink"
)

const discoverUsage = `usage: packbench discover [--timeout D] [--json] [--printers=false]
       packbench discover --watch [--timeout D] [--json]

Lists the benches on the LAN (mDNS _packbench._tcp) and the raw ZPL
printers (_pdl-datastream._tcp, port 9100: benches with [raw9100] on and
network label printers): name, address, port, version and page URL.
Multicast DNS stays on the local network segment; a bench whose API listens
on loopback only is not announced.

--watch keeps listening and prints arrivals (+), changes (~) and departures
(-, by goodbye when a bench shuts down, or when its records expire
unrefreshed), one line (or one JSON object) each, until Ctrl-C or --timeout.

flags:
`

// benchListing is one discovered bench or printer as discover prints it.
type benchListing struct {
	Name      string            `json:"name"`
	Kind      string            `json:"kind"` // "bench" or "printer"
	Service   string            `json:"service"`
	Host      string            `json:"host"`
	Addresses []string          `json:"addresses"`
	Port      int               `json:"port"`
	ID        string            `json:"id,omitempty"`
	Version   string            `json:"version,omitempty"`
	URL       string            `json:"url,omitempty"`  // the API's base, by address
	Page      string            `json:"page,omitempty"` // the page, by <host>.local
	TXT       map[string]string `json:"txt"`
}

// watchLine is one --watch --json line.
type watchLine struct {
	Event  string       `json:"event"` // add, update, remove
	Reason string       `json:"reason,omitempty"`
	Bench  benchListing `json:"found"`
}

func listing(f uplink.Found) benchListing {
	l := benchListing{Name: f.Instance, Service: f.Service, Host: f.Host, Addresses: f.Addrs, Port: f.Port, TXT: f.Text}
	if l.Addresses == nil {
		l.Addresses = []string{}
	}
	switch f.Service {
	case uplink.ServiceBench:
		l.Kind, l.ID, l.Version = "bench", f.Text["id"], f.Text["fw"]
		if a := preferredAddr(f.Addrs); a != "" {
			l.URL = "http://" + net.JoinHostPort(a, strconv.Itoa(f.Port))
		}
		if f.Host != "" {
			l.Page = "http://" + net.JoinHostPort(f.Host, strconv.Itoa(f.Port)) + "/"
		}
	case uplink.ServicePrinter:
		l.Kind, l.Page = "printer", f.Text["adminurl"]
		if a := preferredAddr(f.Addrs); a != "" {
			l.URL = "tcp://" + net.JoinHostPort(a, strconv.Itoa(f.Port))
		}
	}
	return l
}

// preferredAddr is the address to reach a service at: IPv4 first (an IPv6
// address without its zone may not route), else the first.
func preferredAddr(addrs []string) string {
	for _, a := range addrs {
		if ip, err := netip.ParseAddr(a); err == nil && ip.Is4() {
			return a
		}
	}
	if len(addrs) > 0 {
		return addrs[0]
	}
	return ""
}

// discoverBenches browses for wait and returns what is there at its end,
// sorted by kind, then name.
func discoverBenches(ctx context.Context, wait time.Duration, services []string) ([]benchListing, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	evs, err := uplink.Browse(ctx, services, nil)
	if err != nil {
		return nil, err
	}
	seen := map[string]benchListing{}
	for ev := range evs {
		k := ev.Found.Service + "\x00" + ev.Found.Instance
		if ev.Kind == uplink.FoundRemove {
			delete(seen, k)
		} else {
			seen[k] = listing(ev.Found)
		}
	}
	out := make([]benchListing, 0, len(seen))
	for _, l := range seen {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b benchListing) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}

// runDiscover lists (or watches) the benches and printers on the LAN.
func runDiscover(ctx context.Context, std *stdio, args []string) error {
	fs := flag.NewFlagSet("discover", flag.ContinueOnError)
	fs.SetOutput(std.err)
	fs.Usage = func() { fmt.Fprint(std.err, discoverUsage); fs.PrintDefaults() }
	timeout := fs.Duration("timeout", 2*time.Second, "how long to listen (--watch: until Ctrl-C unless given)")
	asJSON := fs.Bool("json", false, "print JSON (with --watch: one object per line)")
	watch := fs.Bool("watch", false, "keep listening: print arrivals, changes and departures")
	printers := fs.Bool("printers", true, "list raw ZPL printers (_pdl-datastream._tcp) too")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("discover: unexpected argument %q", fs.Arg(0))
	}
	if *watch && !flagSet(fs, "timeout") {
		*timeout = 0
	}
	if *timeout < 0 || (!*watch && *timeout == 0) {
		return fmt.Errorf("discover: --timeout %v: want a positive duration", *timeout)
	}
	services := []string{uplink.ServiceBench}
	if *printers {
		services = append(services, uplink.ServicePrinter)
	}
	if *watch {
		if *timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, *timeout)
			defer cancel()
		}
		return watchBenches(ctx, std.out, services, *asJSON)
	}
	found, err := discoverBenches(ctx, *timeout, services)
	if err != nil {
		return fmt.Errorf("discover: %w", err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if *asJSON {
		return writeJSON(std.out, found)
	}
	if len(found) == 0 {
		fmt.Fprintf(std.err, "no bench answered within %v (mDNS reaches only this network segment; is [mdns] on and [api] listen beyond loopback?)\n", *timeout)
		return nil
	}
	tw := tabwriter.NewWriter(std.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tADDRESS\tPORT\tVERSION\tPAGE")
	for _, l := range found {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", cell(l.Name, 40), l.Kind, cell(preferredAddr(l.Addresses), 40), l.Port, cell(l.Version, 24), cell(l.Page, 0))
	}
	return tw.Flush()
}

// watchBenches prints every event until ctx ends.
func watchBenches(ctx context.Context, w io.Writer, services []string, asJSON bool) error {
	evs, err := uplink.Browse(ctx, services, nil)
	if err != nil {
		return fmt.Errorf("discover: %w", err)
	}
	enc := json.NewEncoder(w)
	for ev := range evs {
		l := listing(ev.Found)
		if asJSON {
			if err := enc.Encode(watchLine{Event: ev.Kind, Reason: ev.Reason, Bench: l}); err != nil {
				return err
			}
			continue
		}
		mark := map[string]string{uplink.FoundAdd: "+", uplink.FoundUpdate: "~", uplink.FoundRemove: "-"}[ev.Kind]
		line := fmt.Sprintf("%s %s %q %s port %d", mark, l.Kind, cell(l.Name, 0), cell(preferredAddr(l.Addresses), 40), l.Port)
		if l.Version != "" {
			line += " version " + cell(l.Version, 24)
		}
		if l.Page != "" {
			line += " " + cell(l.Page, 0)
		}
		if ev.Reason != "" {
			line += " (" + ev.Reason + ")"
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	if ctx.Err() == context.DeadlineExceeded {
		return nil // --timeout ended the watch
	}
	return ctx.Err()
}

// flagSet says whether the command line set the flag.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
