package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/station"
)

// TestStatusShowsLinks: packbench status prints each link out (MQTT) with
// its state and, when down, the reason.
func TestStatusShowsLinks(t *testing.T) {
	for _, tc := range []struct {
		link api.LinkHealth
		want string
	}{
		{api.LinkHealth{Name: "mqtt", State: "connected"}, "mqtt:"},
		{api.LinkHealth{Name: "mqtt", State: "disconnected", Error: "uplink: connect ssl://b:8883: broker certificate not trusted"},
			"disconnected: uplink: connect ssl://b:8883: broker certificate not trusted"},
	} {
		var out bytes.Buffer
		h := benchHealth{Health: api.Health{Status: api.HealthOK, Links: []api.LinkHealth{tc.link}}}
		printHealth(&out, "http://127.0.0.1:8080", h)
		line := ""
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(l, "mqtt:") {
				line = l
			}
		}
		if !strings.Contains(line, tc.link.State) || !strings.Contains(line, tc.want) {
			t.Errorf("status output:\n%s\nwant a line %q with %q", out.String(), "mqtt: "+tc.link.State, tc.want)
		}
	}
	var out bytes.Buffer
	printHealth(&out, "http://127.0.0.1:8080", benchHealth{Health: api.Health{Status: api.HealthOK}})
	if strings.Contains(out.String(), "mqtt") {
		t.Errorf("a bench without links shows one:\n%s", out.String())
	}
}

// TestStatusShowsLight: the status LED's blink code and the codes behind
// it, for a bench without a screen.
func TestStatusShowsLight(t *testing.T) {
	var out bytes.Buffer
	printHealth(&out, "http://127.0.0.1:8080", benchHealth{Health: api.Health{Status: api.HealthDegraded,
		Light: &api.LightHealth{LED: "attention", Blinks: 3, Attention: []string{"paper_out", "no_order"}}}})
	if lightLine(out.String()) != "light: attention, blink code 3: paper_out, no_order" {
		t.Fatalf("status output:\n%s", out.String())
	}
	out.Reset()
	printHealth(&out, "http://127.0.0.1:8080", benchHealth{Health: api.Health{Status: api.HealthOK, Light: &api.LightHealth{LED: "ready"}}})
	if lightLine(out.String()) != "light: ready" {
		t.Fatalf("status output:\n%s", out.String())
	}
}

// lightLine is the status output's light line with its spacing collapsed.
func lightLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "light:") {
			return strings.Join(strings.Fields(l), " ")
		}
	}
	return ""
}

// TestStatusShowsDeviceID: the bench's MQTT id, which push and watch take.
func TestStatusShowsDeviceID(t *testing.T) {
	var out bytes.Buffer
	printHealth(&out, "http://127.0.0.1:8080", benchHealth{Health: api.Health{Status: api.HealthOK, DeviceID: "bench-7"}})
	found := false
	for _, l := range strings.Split(out.String(), "\n") {
		found = found || strings.Join(strings.Fields(l), " ") == "bench id (MQTT): bench-7"
	}
	if !found {
		t.Fatalf("status output:\n%s", out.String())
	}
}

// TestStatusShowsLabelWeight: the last label's line gives the weight it
// was printed with, not the scale's later reading; a problem comes with
// its next step.
func TestStatusShowsLabelWeight(t *testing.T) {
	var out bytes.Buffer
	printHealth(&out, "http://127.0.0.1:8080", benchHealth{Health: api.Health{Status: api.HealthOK},
		Flow: &station.FlowState{State: station.FlowIdle, TrackingNumber: "PB1", JobID: 7, JobState: "printed", LabelWeight: "1200 g", Weight: "900 g",
			Problem: &station.Problem{Code: station.ProblemNotArmed, Message: "A parcel is on the scale but no order is armed.", Action: "Scan an order."}}})
	s := out.String()
	if !strings.Contains(s, "printed at 1200 g") || strings.Contains(s, "900 g") || !strings.Contains(s, "no order is armed. Scan an order.") {
		t.Fatalf("status output:\n%s", s)
	}
}
