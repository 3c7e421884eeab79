package scale

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// hidScaleDescriptor is how a HID POS scale's report descriptor starts:
// Usage Page (0x8D, Scale), Usage (0x20, Weighing Device).
var hidScaleDescriptor = []byte{0x05, 0x8d, 0x09, 0x20}

// HIDDevice is a HID POS scale found under /sys/class/hidraw.
type HIDDevice struct {
	Path string // e.g. /dev/hidraw0
	Name string // HID_NAME from uevent, e.g. "DYMO M10 Scale"
	ID   string // HID_ID from uevent, e.g. "0003:00000922:00008003"
}

// FindHIDScales lists the hidraw devices whose report descriptor says
// "scale", by descriptor rather than VID:PID so unknown brands work too.
// sysfsRoot and devRoot are normally "/sys" and "/dev".
func FindHIDScales(sysfsRoot, devRoot string) ([]HIDDevice, error) {
	dir := filepath.Join(sysfsRoot, "class", "hidraw")
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find HID scales: %w", err)
	}
	var out []HIDDevice
	for _, e := range ents {
		desc, err := os.ReadFile(filepath.Join(dir, e.Name(), "device", "report_descriptor"))
		if err != nil || !bytes.HasPrefix(desc, hidScaleDescriptor) {
			continue // unreadable or not a scale: skip, others may be
		}
		d := HIDDevice{Path: filepath.Join(devRoot, e.Name())}
		if ue, err := os.ReadFile(filepath.Join(dir, e.Name(), "device", "uevent")); err == nil {
			for _, line := range strings.Split(string(ue), "\n") {
				if v, ok := strings.CutPrefix(line, "HID_NAME="); ok {
					d.Name = v
				}
				if v, ok := strings.CutPrefix(line, "HID_ID="); ok {
					d.ID = v
				}
			}
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return hidrawLess(out[i].Path, out[j].Path) })
	return out, nil
}

// hidrawLess orders hidraw2 before hidraw10.
func hidrawLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// HIDOpener opens a hidraw node; writable says whether output reports
// (the zero command) can be sent.
type HIDOpener func(path string) (dev io.ReadWriteCloser, writable bool, err error)

// hidHold is how often a HID scale's last report is repeated while no new
// one arrives. Many HID scales report only on change; as long as the
// hidraw node is open and has not failed, the last report is current, and
// the filter needs a steady stream to measure its settle window.
const hidHold = 200 * time.Millisecond

// hidConn reads a hidraw node continuously in its own goroutine and keeps
// only the newest weight report, so a slow consumer never sees the stale
// queue the kernel keeps (up to 64 reports).
type hidConn struct {
	dev      io.ReadWriteCloser
	writable bool
	source   string
	clock    Clock
	hold     time.Duration

	latest chan Reading
	errc   chan error
	last   Reading
	have   bool
}

func newHIDConn(dev io.ReadWriteCloser, writable bool, path string, clock Clock, hold time.Duration) *hidConn {
	c := &hidConn{dev: dev, writable: writable, source: "hid:" + path, clock: clock, hold: hold,
		latest: make(chan Reading, 1), errc: make(chan error, 1)}
	go c.read()
	return c
}

func (c *hidConn) read() {
	var buf [64]byte
	for {
		n, err := c.dev.Read(buf[:])
		if err == nil && n == 0 {
			err = io.EOF
		}
		if err != nil {
			// EIO when unplugged; EOF/closed when the peer or we close.
			c.errc <- fmt.Errorf("%s: %w: %v", c.source, ErrDisconnected, err)
			return
		}
		r, err := ParseHIDReport(buf[:n])
		switch {
		case errors.Is(err, ErrNotWeight):
			continue // another report id: not for us
		case err != nil:
			// A weight report we cannot read (unknown unit, bad status):
			// say so rather than keep showing the last good weight.
			r = Reading{Status: StatusFault, NoValue: true, Err: fmt.Errorf("%s: %w", c.source, err)}
		}
		r.Time, r.Source = c.clock.Now(), c.source
		offerNewest(c.latest, r)
	}
}

func (c *hidConn) Next(ctx context.Context) (Reading, error) {
	var hold <-chan time.Time
	if c.have {
		hold = c.clock.After(c.hold)
	}
	select {
	case r := <-c.latest:
		c.last, c.have = r, true
		return r, nil
	case err := <-c.errc:
		return Reading{}, err
	case <-ctx.Done():
		return Reading{}, ctx.Err()
	case <-hold:
		r := c.last
		r.Time = c.clock.Now()
		return r, nil
	}
}

// Zero sends the output report {0x02, 0x02}; some scales ignore it.
func (c *hidConn) Zero(context.Context) error {
	if !c.writable {
		return fmt.Errorf("%s: zero: %w (device opened read-only)", c.source, ErrNotSupported)
	}
	if _, err := c.dev.Write([]byte{0x02, 0x02}); err != nil {
		return fmt.Errorf("%s: zero: write output report: %w", c.source, err)
	}
	return nil
}

func (c *hidConn) Tare(context.Context) error {
	return fmt.Errorf("%s: tare: %w (HID POS scales have no tare report)", c.source, ErrNotSupported)
}

func (c *hidConn) Close() error { return c.dev.Close() }
