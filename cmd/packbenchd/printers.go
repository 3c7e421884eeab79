package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// printerRun is one configured printer with its worker.
type printerRun struct {
	cfg     device.PrinterConfig
	printer device.Printer
	src     *station.JobSource
	worker  *device.Worker
}

// openPrinter opens the printer a config names; no I/O yet (the transports
// connect lazily). A spool printer also writes a PNG preview per label.
func openPrinter(cfg device.PrinterConfig, preview previewFunc, log *slog.Logger) (device.Printer, error) {
	if cfg.Transport == device.TransportSpool {
		sp, err := device.NewSpool(cfg.Name, cfg.Path)
		if err != nil {
			return nil, err
		}
		if preview == nil {
			return sp, nil
		}
		return &previewSpool{Spool: sp, preview: preview, log: log}, nil
	}
	return device.Open(cfg)
}

// probeTimeout bounds the first status read of every printer at start;
// READY waits for it, an unreachable printer does not stop the bench.
const probeTimeout = 2 * time.Second

// probe reads every printer's status once, in parallel, and logs it.
func probe(ctx context.Context, runs []*printerRun, view *printerView, log *slog.Logger) {
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, probeTimeout)
			defer cancel()
			st, err := r.printer.Status(pctx)
			if err != nil {
				if st.State == "" {
					st.State = device.StateOffline
				}
				if st.Reason == "" {
					st.Reason = err.Error()
				}
				where, check := printerCheck(r.cfg)
				log.Warn("printer not ready at start", "printer", r.cfg.Name, "transport", r.cfg.Transport, "address", where,
					"state", st.State, "check", check, "err", err)
			} else {
				log.Info("printer", "printer", r.cfg.Name, "transport", r.cfg.Transport, "state", st.State)
			}
			view.set(r.cfg.Name, st)
		})
	}
	wg.Wait()
}

// printerView is the printers' last known status, fed by the workers'
// OnStatus and read by the API.
type printerView struct {
	mu      sync.Mutex
	configs []device.PrinterConfig
	status  map[string]printerStatus
}

type printerStatus struct {
	st      device.Status
	updated time.Time
	job     queue.JobID // the last job the worker finished
	jobSt   queue.State
}

func newPrinterView(cfgs []device.PrinterConfig) *printerView {
	return &printerView{configs: cfgs, status: map[string]printerStatus{}}
}

// set records a printer's status and reports whether its state or reason
// changed (the MQTT state topic follows those).
func (v *printerView) set(name string, st device.Status) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := v.status[name]
	changed := s.updated.IsZero() || s.st.State != st.State || s.st.Reason != st.Reason
	s.st, s.updated = st, time.Now()
	v.status[name] = s
	return changed
}

func (v *printerView) setJob(name string, id queue.JobID, st queue.State) {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := v.status[name]
	s.job, s.jobSt = id, st
	v.status[name] = s
}

func (v *printerView) get(name string) (printerStatus, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	s, ok := v.status[name]
	return s, ok && !s.updated.IsZero()
}

// previewFunc returns the PNG preview of a queue job's label.
type previewFunc func(ctx context.Context, jobID string) ([]byte, error)

// previewSpool is the embedded default's spool printer: besides <job>.zpl
// it writes <job>.png, the label's preview, so a person without a printer
// can see what would have come out.
type previewSpool struct {
	*device.Spool
	preview previewFunc
	log     *slog.Logger
}

// SendJob writes the ZPL (the job), then the preview. A missing preview is
// logged, not an error: the label itself is durable.
func (s *previewSpool) SendJob(ctx context.Context, id string, data []byte) (int, error) {
	n, err := s.Spool.SendJob(ctx, id, data)
	if err != nil {
		return n, err
	}
	if err := s.writePreview(ctx, id); err != nil {
		level := slog.LevelWarn
		if errors.Is(err, station.ErrNoPreview) || errors.Is(err, station.ErrNotFound) {
			// Raw ZPL (a carrier's, or pushed over MQTT) has no preview to draw.
			level = slog.LevelDebug
		}
		s.log.Log(ctx, level, "spool printer: no PNG preview", "printer", s.Name(), "job", id, "err", err)
	}
	return n, nil
}

func (s *previewSpool) writePreview(ctx context.Context, id string) error {
	png, err := s.preview(ctx, id)
	if err != nil {
		return err
	}
	name, err := previewName(id)
	if err != nil {
		return err
	}
	return writeFileAtomic(s.Dir(), name, png)
}

// previewName is <id>.png for a job id (j00000042); anything else in an id
// is refused rather than trusted as part of a path.
func previewName(id string) (string, error) {
	if id == "" || len(id) > 64 {
		return "", fmt.Errorf("job id %q: not a file name", id)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return "", fmt.Errorf("job id %q: not a file name", id)
		}
	}
	return id + ".png", nil
}

// writeFileAtomic writes dir/name through a temp file and a rename, so a
// reader never sees half a file.
func writeFileAtomic(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, ".tmp-"+name+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), device.SpoolFileMode); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, name))
}

// printerCheck says where a printer is configured to be and what an
// operator checks when it does not answer at start.
func printerCheck(c device.PrinterConfig) (where, check string) {
	switch c.Transport {
	case device.TransportTCP:
		return c.Address, "is the printer switched on and on the network? check its IP address and that port " +
			"9100 is reachable from the bench (printer.address)"
	case device.TransportUSB:
		where = c.Device
		if where == "" {
			where = "USB printer matching " + strconv.Quote(c.Match)
		}
		return where, "is the printer switched on and its USB cable plugged in? 'packbench printers' lists what the bench sees"
	case device.TransportSerial:
		return c.Device, "is the printer switched on? check the cable, the port (printer.device) and the baud rate (printer.serial)"
	case device.TransportSpool:
		return c.Path, "does the folder exist and may the bench write to it? (printer.path)"
	}
	return c.Address, "check the [[printer]] settings"
}
