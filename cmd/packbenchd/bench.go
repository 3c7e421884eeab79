package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/firmware"
	"github.com/packbench/packbench/internal/datadir"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/station"
	"github.com/packbench/packbench/uplink"
)

// Timeouts of the daemon's own plumbing.
const (
	housekeepFirst  = time.Minute
	housekeepEvery  = time.Hour
	shutdownHTTP    = 5 * time.Second  // in-flight API requests may finish
	shutdownPrinter = 15 * time.Second // a job in the printer's hands may finish
	queueOpenWait   = 2 * time.Second  // another process holding the file
)

// benchOptions are test and benchmark hooks; nil means the real thing.
type benchOptions struct {
	// Listener replaces listening on cfg.API.Listen.
	Listener net.Listener
	// Getenv reads test hooks (PACKBENCH_TEST_*); nil means os.Getenv.
	Getenv func(string) string
	// PrinterGrace replaces shutdownPrinter when > 0.
	PrinterGrace time.Duration
	// Hurry is closed when the operator asks to stop at once (a second
	// Ctrl-C): shutdown stops waiting for the printers, and a job still
	// being sent is recorded as it stands (uncertain). nil: never.
	Hurry <-chan struct{}
	// CompactHook is the queue's compaction test hook (queue.Options).
	CompactHook func(step string) error
	// GPIO injects [gpio]'s pins and clock (gpiotest pins in tests); nil
	// means periph's host drivers and the real clock.
	GPIO *device.GPIOOptions
	// FirmwarePending is this version when it is a pending update that
	// must report healthy (firmwareBoot); "" otherwise.
	FirmwarePending string
}

// bench is the wired daemon: every part, opened, ready to run. newBench
// opens; run serves until ctx ends, then shuts down in order.
type bench struct {
	cfg  Config
	log  *slog.Logger
	opts benchOptions

	db       *queue.DB
	printers []*printerRun
	view     *printerView
	sim      *scale.Simulator // nil unless driver "sim"
	link     *scale.Link
	filter   *scale.Filter
	station  *station.Station
	api      *api.Server
	ln       net.Listener
	lim      *api.ConnLimit // ln with the connection cap
	srv      *http.Server
	mqtt     *mqttLink // nil while [mqtt] url is empty
	hooks    *station.WebhookStore
	webhooks *uplink.Webhooks
	gpio     *device.GPIO // nil while [gpio] names no pin
	raw      *api.Raw9100 // nil while [raw9100] listen is empty
	rawLn    net.Listener
	scanners []*device.Scanner

	fw *firmware.Store

	// A running update (firmwareAPI) and what the state shows of it.
	fwMu        sync.Mutex
	fwUpdate    *uplink.FirmwareUpdate
	fwFailed    *uplink.FirmwareOutcome
	runCtx      context.Context // run's context, for background updates
	restart     chan struct{}   // closed after a switch: run ends with errRestart
	restartOnce sync.Once

	stopIntake chan struct{}
}

// newBench opens the queue, the printers, the scale link, the station and
// the API, and binds the listener. When it returns without error the bench
// can take requests: READY may be sent once run starts.
func newBench(cfg Config, key string, log *slog.Logger, opts *benchOptions) (_ *bench, err error) {
	b := &bench{cfg: cfg, log: log, stopIntake: make(chan struct{}), restart: make(chan struct{})}
	if opts != nil {
		b.opts = *opts
	}
	defer func() {
		if err != nil {
			b.close()
		}
	}()

	qopts := cfg.queueOptions()
	qopts.Timeout, qopts.CompactHook = queueOpenWait, b.opts.CompactHook
	b.db, err = queue.Open(filepath.Join(cfg.Bench.DataDir, datadir.DataFile), &qopts)
	if err != nil {
		if errors.Is(err, queue.ErrLocked) {
			return nil, fmt.Errorf("open queue: %w (is another packbenchd running on %s?)", err, cfg.Bench.DataDir)
		}
		return nil, fmt.Errorf("open queue: %w", err)
	}
	if rec := b.db.Recovered(); len(rec) > 0 {
		log.Warn("jobs were being sent when the bench stopped: now uncertain; check the labels, then retry or mark printed",
			"count", len(rec), "jobs", jobIDStrings(rec))
	}
	if req := b.db.Requeued(); len(req) > 0 {
		log.Info("jobs were claimed but never sent when the bench stopped: queued again",
			"count", len(req), "jobs", jobIDStrings(req))
	}

	// The scale: a simulator for driver "sim", else the configured driver.
	var sopts scale.Options
	if cfg.Scale.Driver == scale.DriverSim {
		b.sim = scale.NewSimulator(nil)
		sopts.Simulator = b.sim
	}
	opener, err := scale.NewOpener(cfg.Scale, &sopts)
	if err != nil {
		return nil, fmt.Errorf("scale: %w", err)
	}
	b.link = scale.NewLink(opener, &scale.LinkOptions{Logger: log, Source: cfg.Scale.Source()})
	if b.filter, err = scale.NewFilter(&cfg.Scale.Filter); err != nil {
		return nil, fmt.Errorf("scale filter: %w", err)
	}

	if b.station, err = newStation(cfg, b.db, log, b.link); err != nil {
		return nil, err
	}
	b.openGPIO()

	getenv := b.opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	// Printers, each with a worker fed from the queue.
	b.view = newPrinterView(cfg.Printers)
	for _, pc := range cfg.Printers {
		p, err := openPrinter(pc, b.labelPreview, log)
		if err != nil {
			return nil, fmt.Errorf("printer %q: %w", pc.Name, err)
		}
		r := &printerRun{cfg: pc, printer: p, src: station.NewJobSource(b.db, pc.Name, &station.JobSourceOptions{
			Stop:      b.stopIntake,
			OnDone:    func(id queue.JobID, st queue.State) { b.view.setJob(pc.Name, id, st) },
			Batch:     station.DefaultJobBatch,
			AskStatus: func(ctx context.Context) { device.AskStatus(ctx, p) },
		})}
		r.worker = device.NewWorker(p, r.src, &device.WorkerOptions{
			Logger: log,
			OnStatus: func(st device.Status) {
				if b.view.set(pc.Name, st) {
					b.station.SetPrinterState(pc.Name, st.State)
					b.stateChanged()
				}
			},
		})
		b.printers = append(b.printers, r)
	}
	probe(context.Background(), b.printers, b.view, log)
	for _, p := range b.view.Printers() {
		b.station.SetPrinterState(p.Name, p.State)
	}

	if err := b.openScanners(); err != nil {
		return nil, err
	}
	b.fw = firmwareStore(cfg, log, b.firmwareEvent)
	if o, err := b.fw.Announce(); err != nil {
		log.Warn("firmware: last outcome", "err", err)
	} else if o != nil {
		b.firmwareEvent(firmware.Event{Type: o.Result, Version: o.Version, From: o.From, Reason: o.Reason})
	}

	if err := b.openMQTT(getenv); err != nil {
		return nil, err
	}

	b.openWebhookStore()
	deps := api.Deps{
		Queue: b.db, Station: b.station, Webhooks: b.hooks, Scale: b.link, Sim: b.sim,
		Printers: b.view, Config: cfg.view(), Keys: []string{key},
		Version: version, Logger: log, DeviceID: cfg.Bench.DeviceID,
		Firmware: firmwareAPI{b},
	}
	if b.mqtt != nil {
		deps.Links = b
	}
	b.api, err = api.New(deps, &api.Options{
		MaxBody: cfg.API.MaxBody, WriteTimeout: cfg.API.WriteTimeout.Std(), MaxStreams: cfg.API.MaxStreams,
		Hosts:       slices.Concat(apiHosts(cfg.API, os.Hostname), shopifyHosts(cfg.Shopify), publicHost(cfg.Packrooster.PublicURL), mdnsHosts(cfg.MDNS, os.Hostname)),
		CORSOrigins: cfg.API.CORSOrigins, PrintURLTimeout: cfg.API.PrintURLTimeout.Std(), PrintURLMaxBytes: cfg.API.PrintURLMaxBytes,
		PDFToZPL:      b.station.PDFToZPL,
		TrustLoopback: cfg.API.TrustLoopback,
	})
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	if err := b.openWebhooks(); err != nil {
		return nil, err
	}

	b.ln = b.opts.Listener
	if b.ln == nil {
		if b.ln, err = net.Listen("tcp", cfg.API.Listen); err != nil {
			return nil, fmt.Errorf("api: listen: %w", err)
		}
	}
	maxConns := connCap(cfg.API.MaxConnections, log)
	b.lim = api.NewConnLimit(b.ln, maxConns, 0)
	// The write deadline is the API's, per answer (event streams renew
	// theirs per event), so no WriteTimeout here.
	b.srv = &http.Server{
		Handler:           b.api,
		ReadHeaderTimeout: min(10*time.Second, cfg.API.ReadTimeout.Std()),
		ReadTimeout:       cfg.API.ReadTimeout.Std(),
		IdleTimeout:       cfg.API.IdleTimeout.Std(),
		MaxHeaderBytes:    cfg.API.MaxHeaderBytes,
		ConnState:         b.lim.ConnState,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	b.srv.RegisterOnShutdown(b.api.Close)
	if err := b.openRaw9100(); err != nil {
		return nil, err
	}
	return b, nil
}

// close releases what newBench opened; the queue goes last.
func (b *bench) close() {
	if b.ln != nil {
		b.ln.Close()
	}
	if b.rawLn != nil {
		b.rawLn.Close()
	}
	if b.api != nil {
		b.api.Close() // ends event streams; already done when the server shut down
	}
	if b.mqtt != nil {
		b.mqtt.weights() // idempotent; runMQTT ends it too
	}
	for _, r := range b.printers {
		if err := r.printer.Close(); err != nil {
			b.log.Warn("close printer", "printer", r.cfg.Name, "err", err)
		}
	}
	if b.db != nil {
		if err := b.db.Close(); err != nil {
			b.log.Error("close queue", "err", err)
		}
	}
}

// addr is the address the API listens on.
func (b *bench) addr() string { return b.ln.Addr().String() }

// run serves until ctx ends, then stops intake (the HTTP server), lets a
// job in a printer's hands finish (or records it truthfully), stops the
// rest and closes the queue last. Cancellation is a clean exit.
func (b *bench) run(ctx context.Context) error {
	defer b.close()
	workerCtx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorkers()
	var workers sync.WaitGroup
	for _, r := range b.printers {
		workers.Go(func() { r.worker.Run(workerCtx) })
	}

	g, gctx := errgroup.WithContext(ctx)
	b.fwMu.Lock()
	b.runCtx = gctx
	b.fwMu.Unlock()
	g.Go(func() error {
		select {
		case <-gctx.Done():
			return nil
		case <-b.restart:
			return errRestart
		}
	})
	g.Go(func() error {
		if err := b.srv.Serve(b.lim); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("api: serve: %w", err)
		}
		return nil
	})
	g.Go(func() error { b.link.Run(gctx); return nil })
	g.Go(func() error { return b.feedScale(gctx) })
	g.Go(func() error { return b.runStation(gctx) })
	g.Go(func() error { return b.housekeep(gctx) })
	g.Go(func() error { return b.watchQueue(gctx) })
	g.Go(func() error { return watchdog(gctx, b.log, b.alive) })
	g.Go(func() error { return b.runWebhooks(gctx) })
	if b.gpio != nil {
		g.Go(func() error { return b.runGPIO(gctx) })
	}
	if b.raw != nil {
		g.Go(func() error { return b.runRaw9100(gctx) })
	}
	for _, s := range b.scanners {
		g.Go(func() error { return b.runScanner(gctx, s) })
	}
	if b.opts.FirmwarePending != "" {
		g.Go(func() error { return b.gateFirmware(gctx) })
	}
	if b.mqtt != nil {
		g.Go(func() error { return b.runMQTT(gctx) })
		g.Go(func() error { return b.watchFlow(gctx) })
	}
	if a := b.mdnsAnnouncer(); a != nil {
		// Goodbyes go out as soon as the bench stops.
		g.Go(func() error { a.Run(gctx); return nil })
	}
	g.Go(func() error {
		<-gctx.Done()
		b.shutdown(stopWorkers)
		return nil
	})

	// The record first: whoever reads "bench ready" or READY finds it.
	b.writeURLRecord()
	defer b.removeURLRecord()
	b.log.Info("bench ready", "name", b.cfg.Bench.Name, "api", "http://"+b.addr(), "data_dir", b.cfg.Bench.DataDir,
		"scale", b.cfg.Scale.Source(), "printers", len(b.printers), "scanners", len(b.scanners), "carrier", b.cfg.Carrier.Kind, "mqtt", b.mqttSummary())
	sdNotify(b.log, notifyReady)

	err := g.Wait()
	stopWorkers()
	workers.Wait()
	if qerr := b.queueBroken(); qerr != nil {
		// Whichever part failed first, the broken queue is the cause.
		return qerr
	}
	if err != nil {
		return err
	}
	b.log.Info("stopped")
	return nil
}

// shutdown stops intake and gives the printers their grace.
func (b *bench) shutdown(stopWorkers context.CancelFunc) {
	sdNotify(b.log, notifyStopping)
	b.log.Info("stopping: no new requests")
	hctx, cancel := context.WithTimeout(context.Background(), shutdownHTTP)
	if err := b.srv.Shutdown(hctx); err != nil {
		b.log.Warn("api: requests cut off at shutdown", "err", err)
		b.srv.Close()
	}
	cancel()
	close(b.stopIntake)
	wait := shutdownPrinter
	if b.opts.PrinterGrace > 0 {
		wait = b.opts.PrinterGrace
	}
	// After the grace the workers are stopped, which cuts a printer's
	// write or status query at once (device.Printer honours the context),
	// so shutdown ends whatever the printer does.
	grace := time.NewTimer(wait)
	defer grace.Stop()
	until := time.Now().Add(wait)
	for _, r := range b.printers {
		select {
		case <-r.src.Idle():
			continue
		default:
		}
		// Say what the stop waits for, or it looks like a hang.
		jobs := b.sendingJobs(r.cfg.Name)
		b.log.Info("stopping: waiting for the printer to finish its job", "printer", r.cfg.Name, "jobs", jobs,
			"up_to", time.Until(until).Round(time.Second).String(), "hint", "press Ctrl-C again to stop now: the job is then recorded as it stands (uncertain when cut mid-send, sent when the printer has it all but did not confirm)")
		select {
		case <-r.src.Idle():
		case <-grace.C:
			b.log.Warn("printer still busy at shutdown: its job is recorded as it stands", "printer", r.cfg.Name, "jobs", jobs)
			stopWorkers()
			return
		case <-b.opts.Hurry:
			b.log.Warn("stopping now, as asked: the printer's job is recorded as it stands", "printer", r.cfg.Name, "jobs", jobs)
			stopWorkers()
			return
		}
	}
	stopWorkers()
}

// sendingJobs names the jobs a printer is sending, for the stop's log.
func (b *bench) sendingJobs(printer string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	js, err := b.db.List(ctx, queue.ListOptions{State: queue.StateSending, Printer: printer})
	if err != nil {
		return nil
	}
	ids := make([]string, 0, len(js))
	for _, j := range js {
		ids = append(ids, j.ID.String())
	}
	return ids
}

// feedScale hands the scale's readings, through the stable-weight filter,
// to the station: a placement labels the armed order, a removal re-arms.
func (b *bench) feedScale(ctx context.Context) error {
	ch, cancel := b.link.Subscribe(64)
	defer cancel()
	if err := b.station.WatchScale(ctx, ch, b.filter); err != nil && ctx.Err() == nil {
		return fmt.Errorf("station: scale: %w", err)
	}
	return nil
}

// housekeep trims the data file a minute after start (a bench restarted
// more often than hourly still gets it), then hourly.
func (b *bench) housekeep(ctx context.Context) error {
	t := time.NewTimer(housekeepFirst)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		b.housekeepOnce(ctx)
		t.Reset(housekeepEvery)
	}
}

// housekeepOnce deletes what [retention] no longer keeps: old label
// artefacts and finished orders (station), spool files and the kept
// answers of Idempotency-Keys (api), then finished jobs and acknowledged
// events (queue), compacting the file when worthwhile.
func (b *bench) housekeepOnce(ctx context.Context) {
	b.housekeepRetention(ctx)
	keys, err := b.api.Housekeep(ctx)
	if err != nil && ctx.Err() == nil {
		b.log.Error("housekeeping: idempotency keys", "err", err)
	}
	rep, err := b.db.Housekeep(ctx)
	if err != nil {
		if ctx.Err() == nil {
			b.log.Error("housekeeping: queue", "err", err)
		}
		return
	}
	b.log.Debug("housekeeping", "idempotency_keys_deleted", keys, "queue", fmt.Sprintf("%+v", rep))
}

// watchQueue stops the bench when the queue broke for good (a compaction
// could not make its new file durable): running on would accept jobs it
// cannot record. systemd restarts the daemon, which reopens the file.
func (b *bench) watchQueue(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case <-b.db.Fatal():
		b.log.Error("queue broken: stopping the bench", "err", b.db.Err())
		return b.queueBroken()
	}
}

// queueBroken is the error run ends with once the queue broke, else nil.
func (b *bench) queueBroken() error {
	select {
	case <-b.db.Fatal():
		return fmt.Errorf("queue broken, stopping the bench: %w", b.db.Err())
	default:
		return nil
	}
}

// alive is the watchdog's check: the queue answers a read.
func (b *bench) alive(ctx context.Context) error {
	_, err := b.db.Counts(ctx)
	return err
}

// Printers implements api.Printers.
func (v *printerView) Printers() []api.PrinterInfo {
	out := make([]api.PrinterInfo, 0, len(v.configs))
	for _, c := range v.configs {
		s, ok := v.get(c.Name)
		pi := api.PrinterFromStatus(c, s.st, ok)
		if pi.Updated.IsZero() {
			pi.Updated = s.updated
		}
		pi.LastJob, pi.LastState = s.job, s.jobSt
		out = append(out, pi)
	}
	return out
}

// view is the config as GET /api/v1/config shows it: secrets removed.
func (c Config) view() any {
	v := c
	v.API.Key = ""
	// Effective values, not blanks: the page shows what the bench does
	// (the 20 g minimum, the 300 ms settle) where the file is silent.
	v.Config = c.Config.WithDefaults().Redacted()
	if f, err := scale.NewFilter(&c.Scale.Filter); err == nil {
		v.Scale.Filter = f.Options()
	}
	return v
}

// apiHosts are the names the API answers to besides localhost, loopback
// and interface addresses (which the API checks itself, as they change).
func apiHosts(c APIConfig, hostname func() (string, error)) []string {
	hosts := append([]string(nil), c.Hosts...)
	if h, _, err := net.SplitHostPort(c.Listen); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	if h, err := hostname(); err == nil && h != "" {
		hosts = append(hosts, h, h+".local")
		if short, _, ok := strings.Cut(h, "."); ok {
			hosts = append(hosts, short, short+".local")
		}
	}
	return hosts
}

// publicHost is the host of [packrooster] public_url: label URLs name it,
// so the API answers to it.
func publicHost(u string) []string {
	if p, err := url.Parse(u); err == nil && p.Hostname() != "" {
		return []string{p.Hostname()}
	}
	return nil
}

// connReserve are file descriptors kept for the data file, printers, the
// MQTT link and logs when the file limit caps the API's connections.
const connReserve = 64

// connCap is max, lowered to fit the process's file limit: running out of
// descriptors stops accept altogether.
func connCap(want int, log *slog.Logger) int {
	limit, ok := fileLimit()
	if !ok || limit <= 0 {
		return want
	}
	if fit := int(min(limit, 1<<20)) - connReserve; fit < want {
		fit = max(fit, 8)
		log.Warn("api: max_connections lowered to fit the open-file limit", "max_connections", want, "file_limit", limit, "now", fit)
		return fit
	}
	return want
}

func jobIDStrings(ids []queue.JobID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}
