package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/packbench/packbench/internal/clock"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/station"
)

// Deps is what the daemon hands the API: the bench's parts and how to
// describe it. Queue, Scale and Keys are required.
type Deps struct {
	Queue   *queue.DB
	Station *station.Station // nil: flow, orders, shipments, labels and reprint answer 503
	// Webhooks is the webhook subscription store (the daemon's one,
	// shared with uplink's delivery worker); nil: webhook routes answer 503.
	Webhooks *station.WebhookStore
	Scale    *scale.Link
	// Sim is the simulated scale behind Scale when the driver is "sim";
	// nil otherwise (POST /api/v1/scale/sim then answers 409).
	Sim      *scale.Simulator
	Printers Printers // nil: no printers
	// Links are the daemon's links out (MQTT) for the health report;
	// nil: none.
	Links Links
	// Config is a read-only view of the daemon's configuration, encoded
	// as JSON by GET /api/v1/config. The caller removes secrets; the API
	// also blanks any member whose name says key, secret, password, token
	// or authorization, as a second guard.
	Config any
	// Keys are the accepted API keys (one per integrator, or just the
	// bench's own). At least one is required: the API never runs open.
	Keys    []string
	Version string
	// DeviceID is the bench's device id ([bench] device_id, the MQTT
	// topic level), shown by /api/v1/health: the id integrations put in
	// their URLs.
	DeviceID string
	Started  time.Time    // zero: when New ran
	Logger   *slog.Logger // nil: discard
	// Firmware is the self-update behind /api/v1/firmware; nil: 503.
	Firmware Firmware
}

// Printers is the daemon's view of its printers.
type Printers interface {
	Printers() []PrinterInfo
}

// Links is the daemon's view of its links out.
type Links interface {
	Links() []LinkHealth
}

// Options tune the server; nil or zero values mean the defaults.
type Options struct {
	// MaxBody caps request bodies in bytes (default 1 MiB); larger ones get
	// 413 body_too_large.
	MaxBody int64
	// WriteTimeout bounds writing one answer, from its first byte (default
	// 30 s): a client that never reads loses its connection instead of
	// holding it, while a handler waiting on a carrier is not cut off.
	// Event streams renew it before every event and heartbeat.
	WriteTimeout time.Duration
	// MaxStreams caps open event streams (default 16); one more gets 503
	// too_many_streams.
	MaxStreams int
	// Heartbeat is how often an idle event stream sends a comment so
	// proxies and clients know it is alive (default 15 s).
	Heartbeat time.Duration
	// ReadingInterval is the shortest time between two weight events on an
	// event stream (default 100 ms); unchanged readings are never sent.
	ReadingInterval time.Duration
	// Hosts are the names and addresses the bench answers to besides
	// localhost, loopback and its interface addresses (the daemon adds
	// its listen host, host name, host name.local and [api] hosts). Any
	// other Host header gets 421 host_not_allowed.
	Hosts []string
	// Clock is the time source for uptime, the event streams' reading
	// interval, the age of Idempotency-Keys and of the interface
	// addresses the Host check last read (tests inject
	// internal/clocktest); nil means clock.Real{}.
	Clock clock.Clock
	// IdempotencyRetention is how long the answer to an Idempotency-Key
	// is kept (default DefaultIdempotencyRetention, 24 h).
	IdempotencyRetention time.Duration
	// CORSOrigins may call the API from a browser ([api] cors_origins:
	// "https://wms.example.com"); none by default. A cross-origin request
	// from any other origin gets 403 origin_not_allowed.
	CORSOrigins []string
	// PrintURLTimeout bounds fetching a print job's url (default
	// DefaultPrintURLTimeout); PrintURLMaxBytes bounds its size (default
	// the largest job payload, queue.DefaultMaxPayload).
	PrintURLTimeout  time.Duration
	PrintURLMaxBytes int64
	// PDFToZPL makes PDF print jobs printable; nil: PDF is 415.
	PDFToZPL PDFToZPL
	// TrustLoopback lets requests from loopback (a browser on the bench's
	// own display) call the packer's routes without a key or kiosk token
	// ([api] trust_loopback, off by default). Leave it off behind a
	// reverse proxy on the same machine: every request would be loopback.
	TrustLoopback bool
}

// MinKeyLen is the shortest API key accepted: shorter keys are guessable
// by a patient LAN neighbour.
const MinKeyLen = 32

// Server is the HTTP API. It is an http.Handler serving /api/v1/... and
// /metrics; mount it at the root of the daemon's http.Server and register
// Close with http.Server.RegisterOnShutdown so event streams end.
type Server struct {
	deps   Deps
	opt    Options
	log    *slog.Logger
	keys   [][sha256.Size]byte
	mux    *http.ServeMux
	routes []route

	openapi []byte

	reg     *prometheus.Registry
	metrics *httpMetrics

	jobs    *jobFeed
	hosts   *hostCheck
	streams atomic.Int64 // open event streams

	idemFlight inFlight // creates running under an Idempotency-Key

	kioskStreams kioskStreams // event streams of kiosk tokens (kiosk.go)

	labelURLs chan struct{} // label URL answers being made (packrooster.go)

	printClient  *http.Client  // fetches print job URLs (print.go)
	printFetches chan struct{} // URL fetches running (print.go)

	ctx    context.Context // ends at Close: streams and sim scripts watch it
	cancel context.CancelFunc
	wg     sync.WaitGroup

	simMu     sync.Mutex
	simCancel context.CancelFunc
	simDone   chan struct{}
}

// New builds the API server around deps.
func New(deps Deps, opts *Options) (*Server, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 1 << 20
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 30 * time.Second
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = 16
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
	if o.ReadingInterval <= 0 {
		o.ReadingInterval = 100 * time.Millisecond
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.IdempotencyRetention <= 0 {
		o.IdempotencyRetention = DefaultIdempotencyRetention
	}
	if o.PrintURLTimeout <= 0 {
		o.PrintURLTimeout = DefaultPrintURLTimeout
	}
	if o.PrintURLMaxBytes <= 0 {
		o.PrintURLMaxBytes = queue.DefaultMaxPayload
	}
	for i, origin := range o.CORSOrigins {
		if err := ValidOrigin(origin); err != nil {
			return nil, fmt.Errorf("%w: Options.CORSOrigins[%d]: %v", ErrConfig, i, err)
		}
	}
	switch {
	case deps.Queue == nil:
		return nil, fmt.Errorf("%w: Deps.Queue is required", ErrConfig)
	case deps.Scale == nil:
		return nil, fmt.Errorf("%w: Deps.Scale is required", ErrConfig)
	case len(deps.Keys) == 0:
		return nil, fmt.Errorf("%w: Deps.Keys: at least one API key is required", ErrConfig)
	}
	s := &Server{deps: deps, opt: o, log: deps.Logger, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.deps.Started.IsZero() {
		s.deps.Started = o.Clock.Now()
	}
	for i, k := range deps.Keys {
		if len(k) < MinKeyLen || strings.TrimSpace(k) != k {
			return nil, fmt.Errorf("%w: Deps.Keys[%d]: want at least %d characters without surrounding spaces", ErrConfig, i, MinKeyLen)
		}
		s.keys = append(s.keys, sha256.Sum256([]byte(k)))
	}
	s.hosts = newHostCheck(o.Hosts, nil, o.Clock)
	s.labelURLs = make(chan struct{}, maxLabelURLs)
	s.printClient = newPrintClient()
	s.printFetches = make(chan struct{}, maxPrintFetches)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.jobs = newJobFeed(s.ctx, deps.Queue, s.log)
	s.routes = s.routeTable()
	for _, rt := range s.routes {
		s.mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
	}
	s.handleWeb() // the bench page: not API routes, see web.go
	var err error
	if s.openapi, err = buildOpenAPI(s.routes, deps.Version); err != nil {
		s.cancel()
		return nil, fmt.Errorf("api: build OpenAPI document: %w", err)
	}
	if err := s.initMetrics(); err != nil {
		s.cancel()
		return nil, fmt.Errorf("api: metrics: %w", err)
	}
	return s, nil
}

// Close ends every open event stream and any running simulator script. The
// Server still answers ordinary requests afterwards (http.Server.Shutdown
// lets in-flight ones finish); new event streams end at once.
func (s *Server) Close() {
	s.cancel()
	s.wg.Wait()
	s.jobs.wait()
}

// authMode says what a route needs.
type authMode int

const (
	authKey        authMode = iota // header key
	authNone                       // public (health)
	authKeyQuery                   // header key, or ?key= (EventSource cannot set headers)
	authFlow                       // header key, or a Flow credential (packrooster.go)
	authPrint                      // header key, or a print token (printtokens.go)
	authPrintQuery                 // authPrint, or either as ?key= (EventSource)
)

// handlerFunc is a handler that returns its error for the wrapper to
// write as JSON.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

type route struct {
	method, path string
	auth         authMode
	h            handlerFunc
	doc          opDoc
}

// Route is a registered method and path, for tests and documentation.
type Route struct{ Method, Path string }

// Routes lists every registered route.
func (s *Server) Routes() []Route {
	out := make([]Route, len(s.routes))
	for i, rt := range s.routes {
		out[i] = Route{rt.method, rt.path}
	}
	return out
}

// wrap applies auth and turns a returned error into the JSON error body.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c caller
		if rt.auth != authNone {
			var ae *apiError
			var kiosk string
			c, kiosk, ae = s.authRoute(r, rt)
			if ae != nil {
				writeAPIError(w, ae)
				return
			}
			if kiosk != "" && rt.auth == authKeyQuery {
				var done func()
				r, done = s.kioskStreams.watch(r, kiosk)
				defer done()
			}
			r = r.WithContext(withCaller(r.Context(), c))
		}
		h := rt.h
		if rt.doc.idempotent {
			h = func(w http.ResponseWriter, r *http.Request) error { return s.idempotent(w, r, c.scope, rt.h) }
		}
		if err := h(w, r); err != nil {
			ae := toAPIError(err)
			if ae.Status >= 500 && ae.Code == CodeInternal {
				s.log.Error("api request failed", "method", r.Method, "route", rt.path, "err", err)
			}
			writeAPIError(w, ae)
		}
	})
}

// authenticate checks the key in Authorization: Bearer or X-Api-Key (and
// ?key= where allowed). The comparison is constant time over SHA-256
// digests, so neither content nor length leaks through timing.
func (s *Server) authenticate(r *http.Request, queryOK bool) *apiError {
	_, ae := s.authKey(r, queryOK)
	return ae
}

// authKey is authenticate that also returns the accepted key's digest
// (Idempotency-Keys are scoped by it).
func (s *Server) authKey(r *http.Request, queryOK bool) ([sha256.Size]byte, *apiError) {
	key, ae := credential(r, queryOK)
	if ae != nil {
		return [sha256.Size]byte{}, ae
	}
	if key == "" {
		return [sha256.Size]byte{}, errorf(http.StatusUnauthorized, CodeUnauthorized, "API key required: send Authorization: Bearer <key> or X-Api-Key: <key>")
	}
	var buf [128]byte // keys this long or shorter are hashed without an allocation
	sum := sha256.Sum256(append(buf[:0], key...))
	match := 0
	for _, k := range s.keys {
		match |= subtle.ConstantTimeCompare(sum[:], k[:])
	}
	if match != 1 {
		return [sha256.Size]byte{}, errorf(http.StatusUnauthorized, CodeUnauthorized, "API key not accepted")
	}
	return sum, nil
}

// ServeHTTP recovers panics, logs and measures every request, and answers
// paths and methods the mux does not know with JSON errors too.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	// Every answer has a write deadline from its first byte on (a handler
	// waiting on a carrier is not a slow reader); event streams renew
	// theirs per event.
	sw := &statusWriter{ResponseWriter: w, s: s}
	h, pattern := s.mux.Handler(r)
	route := pattern
	if pattern == "" {
		route = "unmatched"
		h = s.unmatched(h)
	}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("api handler panic", "method", r.Method, "route", route, "panic", p)
			if !sw.wrote {
				writeAPIError(sw, errorf(http.StatusInternalServerError, CodeInternal, "internal error"))
			}
		}
		d := time.Since(start)
		s.observe(r.Method, route, sw.status(), d)
		// The path, never the query: ?key= must not reach the journal.
		// Successful reads are debug: the page and probes poll every few
		// seconds and would drown the changes and errors worth reading.
		level := slog.LevelInfo
		switch {
		case sw.status() >= 500:
			level = slog.LevelWarn
		case r.Method == http.MethodGet && sw.status() < 400:
			level = slog.LevelDebug
		}
		if !s.log.Enabled(r.Context(), level) {
			return // not even the arguments: boxing them costs allocations
		}
		s.log.Log(r.Context(), level, "api request", "method", r.Method, "route", route, "path", logPath(pattern, r.URL.Path), "status", sw.status(), "duration", d)
	}()
	if !s.checkHost(sw, r) {
		return
	}
	if !s.cors(sw, r) {
		return
	}
	if !s.limitBody(sw, w, r, pattern) {
		return
	}
	if pattern == "" {
		h.ServeHTTP(sw, r)
		return
	}
	s.mux.ServeHTTP(sw, r)
}

// unmatched runs the mux's own 404/405 handler into a recorder and answers
// in JSON with the same status (and Allow header).
func (s *Server) unmatched(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &headerRecorder{h: http.Header{}}
		h.ServeHTTP(rec, r)
		switch rec.code {
		case http.StatusMethodNotAllowed:
			if a := rec.h.Get("Allow"); a != "" {
				w.Header().Set("Allow", a)
			}
			writeAPIError(w, errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method %s not allowed on %s (allowed: %s)", r.Method, r.URL.Path, rec.h.Get("Allow")))
		case http.StatusNotFound, 0:
			writeAPIError(w, errorf(http.StatusNotFound, CodeNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
		default: // redirects of unclean paths
			for k, v := range rec.h {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.code)
		}
	})
}

type headerRecorder struct {
	h    http.Header
	code int
}

func (h *headerRecorder) Header() http.Header { return h.h }
func (h *headerRecorder) Write(b []byte) (int, error) {
	if h.code == 0 {
		h.code = http.StatusOK
	}
	return len(b), nil
}
func (h *headerRecorder) WriteHeader(code int) {
	if h.code == 0 {
		h.code = code
	}
}

// statusWriter remembers the status for logs and metrics. Unwrap lets
// http.ResponseController reach Flush and SetWriteDeadline.
type statusWriter struct {
	http.ResponseWriter
	s     *Server
	code  int
	wrote bool
}

// firstWrite runs before the answer's first byte: it arms the write
// deadline.
func (sw *statusWriter) firstWrite() {
	if err := http.NewResponseController(sw.ResponseWriter).SetWriteDeadline(time.Now().Add(sw.s.opt.WriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		sw.s.log.Warn("api: set write deadline", "err", err)
	}
}

func (sw *statusWriter) WriteHeader(code int) {
	if !sw.wrote {
		sw.code, sw.wrote = code, true
		sw.firstWrite()
	}
	sw.ResponseWriter.WriteHeader(code)
}

func (sw *statusWriter) Write(b []byte) (int, error) {
	if !sw.wrote {
		sw.code, sw.wrote = http.StatusOK, true
		sw.firstWrite()
	}
	return sw.ResponseWriter.Write(b)
}

func (sw *statusWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }

func (sw *statusWriter) status() int {
	if !sw.wrote {
		return http.StatusOK
	}
	return sw.code
}
