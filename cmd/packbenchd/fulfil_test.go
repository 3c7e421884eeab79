package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// fulfilKey is the integrator's key (at least 32 characters).
const fulfilKey = "fulfil-e2e-key-0123456789abcdefghijkl"

// fulfilDaemon starts the real daemon with the printer emulator and a
// [fulfil] section serving the seed's service code.
func fulfilDaemon(t *testing.T) (*daemon, func() [][]byte) {
	t.Helper()
	emu, addr := emulator(t, nil)
	dir := t.TempDir()
	cfg := benchConfig(t, dir, addr, `tracking_url = "https://track.example.com/{tracking}"
[fulfil]
service_codes = ["S1", "GROUND"]
carrier_identifier = "usps"
`)
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + fulfilKey}, "--config", cfg)
	d.key = fulfilKey
	return d, emu.Labels
}

// postLabel sends body to POST /label verbatim with the key in header.
func postLabel(t testing.TB, d *daemon, body []byte, header, value string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", d.url+"/label", bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(header, value)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Error(err)
	}
	return resp.StatusCode, data
}

// decodeFulfilResponse decodes an answer with DisallowUnknownFields: the
// answer has the seed's members and no other.
func decodeFulfilResponse(t testing.TB, status int, data []byte) station.FulfilLabelResponse {
	t.Helper()
	if status != http.StatusOK {
		t.Fatalf("POST /label: %d %s", status, data)
	}
	var f station.FulfilLabelResponse
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("not the seed's response shape: %v: %s", err, data)
	}
	return f
}

// allPrinted waits until the daemon has exactly n jobs and all are printed:
// then no further label can reach the printer.
func allPrinted(t *testing.T, d *daemon, n int) {
	t.Helper()
	poll(t, fmt.Sprintf("%d printed jobs", n), 30*time.Second, func() (bool, error) {
		var jl struct {
			Jobs []queue.Job `json:"jobs"`
		}
		if _, err := d.call("GET", "/api/v1/jobs?limit=500", nil, &jl); err != nil {
			return false, err
		}
		if len(jl.Jobs) > n {
			return false, fmt.Errorf("%d jobs, want %d", len(jl.Jobs), n)
		}
		for _, j := range jl.Jobs {
			if j.State != queue.StatePrinted {
				return false, nil
			}
		}
		return len(jl.Jobs) == n, nil
	})
}

// TestFulfilLabelDaemon: the seed's own request against the real daemon
// answers the documented shape with PNG labels whose barcode is the
// tracking number; then 20 identical ZPL calls at once give one tracking
// number and one printed label per package, and the ZPL renders in the
// independent renderer to its tracking number.
func TestFulfilLabelDaemon(t *testing.T) {
	d, labels := fulfilDaemon(t)
	seed, err := os.ReadFile("../../station/testdata/fulfil_label_request.json")
	if err != nil {
		t.Fatal(err)
	}
	status, data := postLabel(t, d, seed, "Authorization", "Bearer "+fulfilKey)
	f := decodeFulfilResponse(t, status, data)
	if f.Amount != "0.00" || f.Currency != "USD" || f.CarrierIdentifier != "usps" || len(f.Packages) != 2 ||
		f.TrackingNumber != f.Packages[0].TrackingNumber || f.TrackingURL != "https://track.example.com/"+f.TrackingNumber {
		t.Fatalf("answer %+v", f)
	}
	for i, p := range f.Packages {
		data, err := base64.StdEncoding.DecodeString(p.Label)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("packages[%d].label: %v", i, err)
		}
		if got, err := decodeCode128(img); err != nil || got != p.TrackingNumber {
			t.Errorf("packages[%d]: barcode %q (%v), want %s", i, got, err, p.TrackingNumber)
		}
	}
	allPrinted(t, d, 2)
	if n := len(labels()); n != 2 {
		t.Fatalf("%d labels at the printer after the seed's request, want 2", n)
	}

	// 20 identical calls at once, new references, raw ZPL, X-Api-Key.
	body := bytes.ReplaceAll(seed, []byte("CS123PKG23"), []byte("CONCURRENT-"))
	body = bytes.Replace(body, []byte(`"label_type": "PNG"`), []byte(`"label_type": "ZPL"`), 1)
	const n = 20
	answers := make([]station.FulfilLabelResponse, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, data := postLabel(t, d, body, "X-Api-Key", fulfilKey)
			if status != http.StatusOK {
				t.Errorf("call %d: %d %s", i, status, data)
				return
			}
			if err := json.Unmarshal(data, &answers[i]); err != nil {
				t.Errorf("call %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	first := answers[0]
	if len(first.Packages) != 2 || first.Packages[0].TrackingNumber == first.Packages[1].TrackingNumber {
		t.Fatalf("answer %+v", first)
	}
	for i, a := range answers {
		for k := range a.Packages {
			if a.Packages[k] != first.Packages[k] {
				t.Fatalf("call %d, package %d: %s, call 0: %s", i, k, a.Packages[k].TrackingNumber, first.Packages[k].TrackingNumber)
			}
		}
	}
	allPrinted(t, d, 4)
	printed := labels()
	if len(printed) != 4 {
		t.Fatalf("%d labels at the printer, want 4 (one per package)", len(printed))
	}
	for k, p := range first.Packages {
		if !strings.HasPrefix(p.Label, "^XA") {
			t.Fatalf("packages[%d].label is not raw ZPL: %.40q", k, p.Label)
		}
		found := 0
		for _, l := range printed {
			if bytes.Contains(l, []byte(p.TrackingNumber)) {
				found++
			}
		}
		if found != 1 {
			t.Errorf("package %s printed %d times", p.TrackingNumber, found)
		}
		img := renderZPL(t, []byte(p.Label))
		if got, err := decodeCode128(img); err != nil || got != p.TrackingNumber {
			t.Errorf("ZPL of packages[%d] renders to barcode %q (%v), want %s", k, got, err, p.TrackingNumber)
		}
	}
	d.stop()
}
