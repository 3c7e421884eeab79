package api_test

import (
	"bytes"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/scale"
)

// sample finds the value of a series in parsed families; ok is false when
// the series is absent.
func sample(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func TestMetrics(t *testing.T) {
	b := newBench(t, nil)
	b.prn.set(api.PrinterInfo{Name: "p1", State: device.StatePaperOut, Known: true},
		api.PrinterInfo{Name: "p2", State: device.StateReady, Known: true})
	b.enqueue("m1", "p1")
	b.enqueue("m2", "p1")
	j := b.enqueue("m3", "p2")
	b.ok("POST", "/api/v1/jobs/"+j.ID.String()+"/cancel", nil, nil)
	b.ok("GET", "/api/v1/jobs", nil, nil)
	b.ok("GET", "/api/v1/jobs", nil, nil)
	b.do("GET", "/api/v1/jobs/j404", nil)
	b.ok("POST", "/api/v1/scale/sim", `{"grams":2500.5}`, nil)
	b.waitReading(func(r scale.Reading) bool { return r.Milligrams == 2500500 })

	a := b.do("GET", "/metrics", nil)
	if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %s", a.status, a.header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(a.body))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, a.body)
	}
	want := []struct {
		name   string
		labels map[string]string
		value  float64
	}{
		{"packbench_http_requests_total", map[string]string{"method": "GET", "route": "GET /api/v1/jobs", "code": "200"}, 2},
		{"packbench_http_requests_total", map[string]string{"method": "GET", "route": "GET /api/v1/jobs/{id}", "code": "404"}, 1},
		{"packbench_http_requests_total", map[string]string{"method": "POST", "route": "POST /api/v1/jobs/{id}/cancel", "code": "200"}, 1},
		{"packbench_http_request_duration_seconds", map[string]string{"method": "GET", "route": "GET /api/v1/jobs"}, 2},
		{"packbench_jobs", map[string]string{"state": "queued"}, 2},
		{"packbench_jobs", map[string]string{"state": "cancelled"}, 1},
		{"packbench_jobs", map[string]string{"state": "printed"}, 0},
		{"packbench_queue_depth", nil, 2},
		{"packbench_queue_up", nil, 1},
		{"packbench_printer_state", map[string]string{"printer": "p1", "state": "paper_out"}, 1},
		{"packbench_printer_state", map[string]string{"printer": "p2", "state": "ready"}, 1},
		{"packbench_scale_weight_grams", nil, 2500.5},
		{"packbench_scale_status", map[string]string{"status": "stable"}, 1},
		{"packbench_scale_status", map[string]string{"status": "motion"}, 0},
		{"packbench_flow_state", map[string]string{"state": "idle"}, 1},
		{"packbench_flow_state", map[string]string{"state": "armed"}, 0},
		{"packbench_build_info", map[string]string{"version": "v0.0.0-test"}, 1},
	}
	for _, w := range want {
		v, ok := sample(fams, w.name, w.labels)
		if !ok || v != w.value {
			t.Errorf("%s%v = %v (present %v), want %v", w.name, w.labels, v, ok, w.value)
		}
	}
	for _, name := range []string{"go_goroutines", "packbench_uptime_seconds"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("missing %s", name)
		}
	}
	if strings.Contains(string(a.body), testKey) {
		t.Fatal("metrics show the key")
	}
}
