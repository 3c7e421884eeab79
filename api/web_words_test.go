package api

import (
	"os"
	"regexp"
	"testing"

	"github.com/packbench/packbench/station"
)

// The packer's page has words for every problem code the station can
// report, and a button for every offer (issue 19).
func TestWebHasWordsForEveryProblem(t *testing.T) {
	js, err := os.ReadFile("web/app.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range station.ProblemCodes() {
		if !regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(code) + `: \["`).Match(js) {
			t.Errorf("app.js FLOW_WORDS has no words for problem %q", code)
		}
	}
	for _, offer := range []string{station.OfferReprint, station.OfferConfirmPrinted} {
		if !regexp.MustCompile(`case "` + regexp.QuoteMeta(offer) + `":`).Match(js) {
			t.Errorf("app.js offerButtons has no button for offer %q", offer)
		}
	}
}
