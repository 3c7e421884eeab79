package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/packbench/packbench/uplink"
)

// runWatch prints a bench's events as they arrive, one line each (or the
// JSON as received with --json), until Ctrl-C.
func runWatch(ctx context.Context, std *stdio, args []string) error {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	fs.SetOutput(std.err)
	var mf mqttFlags
	mf.register(fs)
	bench := fs.String("bench", "", "device id of the bench to follow (required)")
	asJSON := fs.Bool("json", false, "print each event's JSON as received")
	clientID := fs.String("client-id", "", "fixed client id: the broker keeps the session and queues events while away")
	dups := fs.Bool("dups", false, "also print events redelivered with an id already printed")
	fs.Usage = func() {
		fmt.Fprintln(std.err, "usage: packbench watch --url mqtt://HOST --bench ID [--json] [--client-id ID]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *bench == "" || fs.NArg() != 0 {
		fs.Usage()
		if *bench == "" {
			return usagef("watch: --bench ID is required: the bench's MQTT id (packbench status shows it)")
		}
		return usagef("watch: unexpected argument %q", fs.Arg(0))
	}
	cfg, err := mf.config()
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	cl, err := uplink.Dial(ctx, cfg, *clientID, mf.timeout)
	if err != nil {
		return err
	}
	defer cl.Close()
	fmt.Fprintf(std.err, "watch: waiting for the events of bench %s on %s (topic %s); Ctrl-C stops\n",
		*bench, cfg.URL, uplink.BenchTopic(cfg.TopicPrefix, *bench, "events"))
	seen := newRecentIDs(4096)
	return cl.Watch(ctx, *bench, func(raw []byte, ev uplink.Event) {
		if ev.ID != 0 && !*dups && !seen.add(ev.ID) {
			return // a redelivery: QoS 1 is at least once
		}
		if *asJSON || ev.ID == 0 {
			fmt.Fprintf(std.out, "%s\n", raw)
			return
		}
		fmt.Fprintln(std.out, eventLine(ev))
	})
}

// eventLine is one readable line: id, time, type and what is set.
func eventLine(ev uplink.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s %s", ev.ID, ev.Time.UTC().Format(time.RFC3339), ev.Type)
	if ev.JobID != 0 {
		fmt.Fprintf(&b, " job=%s", ev.JobID)
	}
	if ev.Key != "" {
		fmt.Fprintf(&b, " key=%q", ev.Key)
	}
	if ev.Printer != "" {
		fmt.Fprintf(&b, " printer=%s", ev.Printer)
	}
	if ev.From != "" || ev.To != "" {
		fmt.Fprintf(&b, " %s→%s", ev.From, ev.To)
	}
	if ev.Reason != "" {
		fmt.Fprintf(&b, " reason=%q", ev.Reason)
	}
	if len(ev.Data) > 0 {
		fmt.Fprintf(&b, " data=%s", ev.Data)
	}
	return b.String()
}

// recentIDs remembers the last n event ids, to drop redeliveries.
type recentIDs struct {
	set  map[uint64]bool
	ring []uint64
	next int
}

func newRecentIDs(n int) *recentIDs {
	return &recentIDs{set: make(map[uint64]bool, n), ring: make([]uint64, n)}
}

// add reports whether id is new.
func (r *recentIDs) add(id uint64) bool {
	if r.set[id] {
		return false
	}
	delete(r.set, r.ring[r.next])
	r.ring[r.next] = id
	r.next = (r.next + 1) % len(r.ring)
	r.set[id] = true
	return true
}
