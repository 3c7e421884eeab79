package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/internal/duration"
	"github.com/packbench/packbench/queue"
)

// Defaults of [retention] not owned by a package.
const (
	defaultSpoolRetention = 30 * 24 * time.Hour
	defaultSpoolMaxSize   = 256 << 20
	minRetention          = time.Hour // shorter is a typo ("30s" for "30d")
)

// RetentionConfig is [retention]: how long finished work is kept. Zero
// values mean the defaults in the comments.
type RetentionConfig struct {
	Jobs   duration.Duration `toml:"jobs" json:"jobs,omitempty"`     // finished jobs and their idempotency keys; 720h
	Events duration.Duration `toml:"events" json:"events,omitempty"` // events no consumer acknowledged; 720h
	Labels duration.Duration `toml:"labels" json:"labels,omitempty"` // label files (ZPL, previews) kept in the data file; 720h
	Orders duration.Duration `toml:"orders" json:"orders,omitempty"` // shipped and cancelled orders with their packages; 2160h
	Spool  duration.Duration `toml:"spool" json:"spool,omitempty"`   // files in spool printer folders; 720h
	// SpoolMaxSize caps each spool folder ("256MiB"); the oldest files go first.
	SpoolMaxSize byteSize `toml:"spool_max_size" json:"spool_max_size,omitempty"`
}

// DiskConfig is [disk]: the free-space floor of the data directory's
// filesystem. Each is a size ("64MiB") or a share of the filesystem ("5%").
type DiskConfig struct {
	// MinFree: under it new orders, labels and jobs are refused
	// (disk_full). Default: 64 MiB or 5 %, whichever is smaller.
	MinFree freeSpace `toml:"min_free" json:"min_free,omitzero"`
	// WarnFree: under it the health report warns. Default: 256 MiB or
	// 20 %, whichever is smaller.
	WarnFree freeSpace `toml:"warn_free" json:"warn_free,omitzero"`
}

func (r *RetentionConfig) validate() error {
	for _, d := range []struct {
		key string
		v   duration.Duration
	}{{"jobs", r.Jobs}, {"events", r.Events}, {"labels", r.Labels}, {"orders", r.Orders}, {"spool", r.Spool}} {
		if d.v != 0 && d.v.Std() < minRetention {
			return fmt.Errorf("config: retention.%s %q: at least %v (0 or unset: the default)", d.key, d.v.Std(), minRetention)
		}
	}
	return nil
}

func (c *DiskConfig) validate() error {
	// Sizes against sizes and shares against shares; a mix depends on the
	// disk, and the queue warns at least from the floor on anyway.
	m, w := c.MinFree, c.WarnFree
	if (m.Bytes > 0 && w.Bytes > 0 && w.Bytes < m.Bytes) || (m.Percent > 0 && w.Percent > 0 && w.Percent < m.Percent) {
		return fmt.Errorf("config: disk.warn_free %s is under disk.min_free %s: the health warning would come after refusals", w, m)
	}
	return nil
}

// byteSize is a size in TOML and JSON: "256MiB", "1GiB", "500MB", "4096".
type byteSize uint64

var sizeUnits = map[string]uint64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

func parseSize(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	n, err := strconv.ParseFloat(t[:i], 64)
	unit, ok := sizeUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	if err != nil || !ok || n < 0 || n*float64(unit) >= 1<<63 {
		return 0, fmt.Errorf("size %q: want a number with B, KiB, MiB, GiB, TiB, KB, MB, GB or TB, like 256MiB", s)
	}
	return uint64(n * float64(unit)), nil
}

func (b *byteSize) UnmarshalText(t []byte) error {
	n, err := parseSize(string(t))
	*b = byteSize(n)
	return err
}

func (b byteSize) MarshalText() ([]byte, error) { return []byte(queue.FormatBytes(uint64(b))), nil }

// freeSpace is a free-space floor: a size ("64MiB") or a share ("5%").
type freeSpace queue.Floor

func (f *freeSpace) UnmarshalText(t []byte) error {
	s := strings.TrimSpace(string(t))
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v <= 0 || v >= 100 {
			return fmt.Errorf("free space %q: want a share above 0 and under 100%%, like 5%%", s)
		}
		*f = freeSpace{Percent: v}
		return nil
	}
	n, err := parseSize(s)
	if err != nil || n == 0 {
		return fmt.Errorf("free space %q: want a size like 64MiB or a share like 5%%", s)
	}
	*f = freeSpace{Bytes: n}
	return nil
}

func (f freeSpace) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

func (f freeSpace) String() string {
	switch {
	case f.Bytes > 0 && f.Percent > 0:
		return fmt.Sprintf("%s or %g%%", queue.FormatBytes(f.Bytes), f.Percent)
	case f.Percent > 0:
		return fmt.Sprintf("%g%%", f.Percent)
	}
	return queue.FormatBytes(f.Bytes)
}

// spoolPruner is a spool printer's folder as housekeeping sees it.
type spoolPruner interface {
	Prune(ctx context.Context, o device.PruneOptions) (device.PruneReport, error)
}

var _ spoolPruner = (*device.Spool)(nil)

// housekeepRetention deletes expired labels and orders (station) and
// prunes the spool folders; the queue's own pass follows.
func (b *bench) housekeepRetention(ctx context.Context) {
	r := b.cfg.Retention
	labels, err := b.station.Housekeep(ctx, r.Labels.Std())
	if err != nil && ctx.Err() == nil {
		b.log.Error("housekeeping: labels", "err", err)
	}
	orders, err := b.station.HousekeepOrders(ctx, r.Orders.Std())
	if err != nil && ctx.Err() == nil {
		b.log.Error("housekeeping: orders", "err", err)
	}
	webhooks, err := b.station.HousekeepShopify(ctx, 0)
	if err != nil && ctx.Err() == nil {
		b.log.Error("housekeeping: shopify webhook ids", "err", err)
	}
	keep := r.Spool.Std()
	if keep <= 0 {
		keep = defaultSpoolRetention
	}
	limit := int64(r.SpoolMaxSize)
	if limit <= 0 {
		limit = defaultSpoolMaxSize
	}
	// The file times come from the real clock, so the cutoff does too.
	opts := device.PruneOptions{Before: time.Now().Add(-keep), MaxBytes: limit, Keep: b.jobInFlight(ctx)}
	for _, pr := range b.printers {
		sp, ok := pr.printer.(spoolPruner)
		if !ok {
			continue
		}
		rep, err := sp.Prune(ctx, opts)
		if err != nil && ctx.Err() == nil {
			b.log.Error("housekeeping: spool", "printer", pr.cfg.Name, "err", err)
			continue
		}
		if rep.Deleted > 0 {
			b.log.Info("housekeeping: spool files deleted", "printer", pr.cfg.Name, "files", rep.Deleted,
				"freed", queue.FormatBytes(uint64(rep.Freed)), "left", queue.FormatBytes(uint64(rep.Bytes)))
		}
	}
	if labels+orders+webhooks > 0 {
		b.log.Info("housekeeping: expired records deleted", "labels", labels, "orders", orders, "shopify_webhook_ids", webhooks)
	}
}

// jobInFlight reports whether the job a spool file is named after may
// still be sent or waits for an operator; when unsure (the queue did not
// answer) the file is kept.
func (b *bench) jobInFlight(ctx context.Context) func(id string) bool {
	return func(id string) bool {
		jid, err := queue.ParseJobID(id)
		if err != nil {
			return false // not a job's file (Spool.Send names them job-<random>)
		}
		j, err := b.db.Job(ctx, jid)
		if errors.Is(err, queue.ErrNotFound) {
			return false
		}
		if err != nil {
			return true
		}
		return j.State == queue.StateQueued || j.State == queue.StateSending || j.State == queue.StateUncertain
	}
}

// queueOptions are the data file's retention and free-space settings.
func (c *Config) queueOptions() queue.Options {
	return queue.Options{
		Retention:      c.Retention.Jobs.Std(),
		EventRetention: c.Retention.Events.Std(),
		MinFree:        queue.Floor(c.Disk.MinFree),
		WarnFree:       queue.Floor(c.Disk.WarnFree),
	}
}
