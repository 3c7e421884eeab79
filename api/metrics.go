package api

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/station"
)

// httpMetrics are the request series the middleware feeds.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	handler  http.Handler
	// series keeps each (method, route, code)'s counter and histogram once
	// looked up, so a request costs one map read instead of two label
	// hashes and a code formatted. Its keys are bounded as the labels are.
	series sync.Map // seriesKey → *requestSeries
}

type seriesKey struct {
	method, route string
	code          int
}

type requestSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer // nil: not measured (event streams)
}

// initMetrics builds the server's own registry: never the global default,
// so two servers (tests) or other packages cannot collide.
func (s *Server) initMetrics() error {
	reg := prometheus.NewRegistry()
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "packbench_http_requests_total",
			Help: "HTTP requests answered, by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "packbench_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by method and route pattern (event streams excluded).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
	}
	for _, c := range []prometheus.Collector{
		m.requests, m.duration, benchCollector{s},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	s.reg, s.metrics = reg, m
	return nil
}

// observe records one answered request. The route is the mux pattern
// ("GET /api/v1/jobs/{id}") or "unmatched", so labels stay bounded.
func (s *Server) observe(method, route string, code int, d time.Duration) {
	if s.metrics == nil {
		return
	}
	if route == "unmatched" {
		method = "other" // arbitrary methods must not grow the label set
	}
	k := seriesKey{method, route, code}
	v, ok := s.metrics.series.Load(k)
	if !ok {
		rs := &requestSeries{requests: s.metrics.requests.WithLabelValues(method, route, strconv.Itoa(code))}
		if route != "GET "+pathEvents {
			rs.duration = s.metrics.duration.WithLabelValues(method, route)
		}
		v, _ = s.metrics.series.LoadOrStore(k, rs)
	}
	rs := v.(*requestSeries)
	rs.requests.Inc()
	if rs.duration != nil {
		rs.duration.Observe(d.Seconds())
	}
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	s.metrics.handler.ServeHTTP(w, r)
	return nil
}

var (
	descJobs = prometheus.NewDesc("packbench_jobs",
		"Print jobs in the queue file, by state.", []string{"state"}, nil)
	descQueueDepth = prometheus.NewDesc("packbench_queue_depth",
		"Jobs waiting for or being sent to a printer (queued + sending).", nil, nil)
	descQueueUp = prometheus.NewDesc("packbench_queue_up",
		"1 when the queue file answers.", nil, nil)
	descPrinterState = prometheus.NewDesc("packbench_printer_state",
		"1 for each printer's current state.", []string{"printer", "state"}, nil)
	descScaleGrams = prometheus.NewDesc("packbench_scale_weight_grams",
		"The scale's latest weight in grams (absent while it reports no weight).", nil, nil)
	descScaleStatus = prometheus.NewDesc("packbench_scale_status",
		"1 for the scale's latest status.", []string{"status"}, nil)
	descFlowState = prometheus.NewDesc("packbench_flow_state",
		"1 for the hands-free flow's current state.", []string{"state"}, nil)
	descUptime = prometheus.NewDesc("packbench_uptime_seconds",
		"Seconds since the daemon started.", nil, nil)
	descBuild = prometheus.NewDesc("packbench_build_info",
		"Always 1; the version label says which build runs.", []string{"version"}, nil)
)

// flowStates are the flow states exported as series (all of them, so a
// dashboard sees 0s rather than missing series).
var flowStates = []string{station.FlowIdle, station.FlowArmed, station.FlowLabelling, station.FlowPrinting, station.FlowPrinted}

// scaleStatuses are the scale statuses exported as series.
var scaleStatuses = []scale.Status{scale.StatusUnknown, scale.StatusStable, scale.StatusMotion, scale.StatusZero,
	scale.StatusUnder, scale.StatusOver, scale.StatusFault, scale.StatusNeedsZero, scale.StatusNeedsCalibration}

// benchCollector reads the bench's state at scrape time, so nothing is
// computed when nobody scrapes.
type benchCollector struct{ s *Server }

func (c benchCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descJobs, descQueueDepth, descQueueUp, descPrinterState,
		descScaleGrams, descScaleStatus, descFlowState, descUptime, descBuild} {
		ch <- d
	}
}

func (c benchCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	ctx, cancel := context.WithTimeout(s.ctx, 2*time.Second)
	defer cancel()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counts, err := s.deps.Queue.Counts(ctx)
	if err == nil {
		gauge(descQueueUp, 1)
		for _, st := range queue.States() {
			gauge(descJobs, float64(counts[st]), string(st))
		}
		gauge(descQueueDepth, float64(counts[queue.StateQueued]+counts[queue.StateSending]))
	} else {
		gauge(descQueueUp, 0)
	}
	for _, p := range s.printers() {
		st := p.State
		if st == "" {
			st = device.StateUnknown
		}
		gauge(descPrinterState, 1, p.Name, string(st))
	}
	if rd, ok := s.deps.Scale.Latest(); ok {
		if rd.HasWeight() {
			gauge(descScaleGrams, float64(rd.Milligrams)/1000)
		}
		for _, st := range scaleStatuses {
			v := 0.0
			if rd.Status == st {
				v = 1
			}
			gauge(descScaleStatus, v, st.String())
		}
	}
	if fs, ok := s.flowState(ctx); ok {
		for _, st := range flowStates {
			v := 0.0
			if fs.State == st {
				v = 1
			}
			gauge(descFlowState, v, st)
		}
	}
	gauge(descUptime, s.opt.Clock.Now().Sub(s.deps.Started).Seconds())
	gauge(descBuild, 1, s.deps.Version)
}
