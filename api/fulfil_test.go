package api_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/packbench/packbench/station"
)

// seedFulfilBody is the seed's example request (002), only its comments
// removed: packages[].amount is given twice.
func seedFulfilBody(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("../station/testdata/fulfil_label_request.json")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(b, []byte(`"amount"`)) != 4 {
		t.Fatal("the seed's example should give packages[].amount twice per package")
	}
	return b
}

func fulfilBench(t testing.TB) *bench {
	return newBench(t, &benchOptions{stationConfig: station.Config{
		Carrier: station.CarrierConfig{TrackingURL: "https://track.example.com/{tracking}"},
		Fulfil:  station.FulfilConfig{ServiceCodes: []string{"S1"}, CarrierIdentifier: "usps"}}})
}

// fulfilAnswer is the seed's "fully detailed response"; decoding it with
// DisallowUnknownFields shows the answer has no other member.
type fulfilAnswer struct {
	TrackingNumber    string `json:"tracking_number"`
	TrackingURL       string `json:"tracking_url"`
	CarrierIdentifier string `json:"carrier_identifier"`
	Amount            string `json:"amount"`
	Currency          string `json:"currency"`
	Packages          []struct {
		TrackingNumber string `json:"tracking_number"`
		Label          string `json:"label"`
		TrackingURL    string `json:"tracking_url"`
	} `json:"packages"`
}

func decodeFulfil(t testing.TB, a answer) fulfilAnswer {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	var f fulfilAnswer
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("answer is not the seed's shape: %v: %s", err, a.body)
	}
	return f
}

func TestFulfilLabelSeedRequest(t *testing.T) {
	b := fulfilBench(t)
	body := seedFulfilBody(t)
	f := decodeFulfil(t, b.do("POST", "/label", body))
	if f.TrackingNumber == "" || f.Amount != "0.00" || f.Currency != "USD" || f.CarrierIdentifier != "usps" ||
		f.TrackingURL != "https://track.example.com/"+f.TrackingNumber || len(f.Packages) != 2 {
		t.Fatalf("answer %+v", f)
	}
	for i, p := range f.Packages {
		png, err := base64.StdEncoding.DecodeString(p.Label)
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || p.TrackingURL != "https://track.example.com/"+p.TrackingNumber {
			t.Errorf("packages[%d]: %v %+v", i, err, p.TrackingURL)
		}
	}
	// Retried with the other key header: the same answer, no new job.
	again := decodeFulfil(t, b.do("POST", "/label", body, "Authorization", "", "X-Api-Key", testKey))
	if again.Packages[1].TrackingNumber != f.Packages[1].TrackingNumber || again.Packages[1].Label != f.Packages[1].Label {
		t.Errorf("retry answered differently")
	}
	var jl struct {
		Jobs []json.RawMessage `json:"jobs"`
	}
	b.ok("GET", "/api/v1/jobs", nil, &jl)
	if len(jl.Jobs) != 2 {
		t.Errorf("%d jobs, want one per package", len(jl.Jobs))
	}
}

func TestFulfilLabelRefusals(t *testing.T) {
	b := fulfilBench(t)
	seed := string(seedFulfilBody(t))
	tests := []struct {
		name, from, to, field string
	}{
		{"unknown label_type", `"label_type": "PNG"`, `"label_type": "PDF"`, "options.label_type"},
		{"service_code off the list", `"service_code": "S1"`, `"service_code": "S9"`, "service_code"},
		{"unknown weight unit", `"weight_unit": "lb",`, `"weight_unit": "stone",`, "packages[0].weight_unit"},
		{"unknown dimension unit", `"dimension_unit": "in",`, `"dimension_unit": "mm",`, "packages[0].dimension_unit"},
		{"a repeated member other than amount", `"reference": "CS123PKG231",`, `"reference": "CS123PKG231", "reference": "X",`, "packages[0].reference"},
		{"unknown member", `"machinable": false,`, `"machinable": false, "colour": "red",`, "packages[0].colour"},
		{"weight as a string", `"weight": 7,`, `"weight": "7",`, "packages[0].weight"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := strings.Replace(seed, tt.from, tt.to, 1)
			if body == seed {
				t.Fatalf("%q not in the seed", tt.from)
			}
			b.do("POST", "/label", body).wantError(t, http.StatusBadRequest, "invalid_field", tt.field)
		})
	}
	b.do("POST", "/label", seed, "Authorization", "").wantError(t, http.StatusUnauthorized, "unauthorized", "")
	var jl struct {
		Jobs []json.RawMessage `json:"jobs"`
	}
	b.ok("GET", "/api/v1/jobs", nil, &jl)
	if len(jl.Jobs) != 0 {
		t.Errorf("refused requests made %d jobs", len(jl.Jobs))
	}
}
