package station

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
)

// fulfil is a local upstream speaking the Fulfil /label contract. Each
// request is handed to answer with its decoded body and attempt number.
type fulfil struct {
	mu     sync.Mutex
	bodies []map[string]any
	refs   []string
	auth   []string
	answer func(w http.ResponseWriter, r *http.Request, attempt int)
}

func (f *fulfil) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/label" || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "want POST /label with JSON", http.StatusBadRequest)
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	ref := ""
	if pk, ok := body["packages"].([]any); ok && len(pk) == 1 {
		ref, _ = pk[0].(map[string]any)["reference"].(string)
	}
	f.refs = append(f.refs, ref)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	n := len(f.refs)
	f.mu.Unlock()
	f.answer(w, r, n)
}

func (f *fulfil) seen() (refs []string, bodies []map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.refs...), append([]map[string]any(nil), f.bodies...)
}

func startFulfil(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, attempt int)) (*fulfil, string) {
	f := &fulfil{answer: answer}
	srv := newLoopbackServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL + "/label"
}

// newLoopbackServer is an httptest server on 127.0.0.1 (its default).
func newLoopbackServer(h http.Handler) *httptest.Server { return httptest.NewServer(h) }

// carrierPNG draws a label-like PNG: white, a black frame and bars.
func carrierPNG(t *testing.T, w, h int) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			black := x < 8 || y < 8 || x >= w-8 || y >= h-8 || (y > h/2 && y < h/2+200 && (x/10)%2 == 0)
			if black {
				img.SetGray(x, y, color.Gray{0})
			} else {
				img.SetGray(x, y, color.Gray{255})
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func okAnswer(label string) func(w http.ResponseWriter, r *http.Request, attempt int) {
	return func(w http.ResponseWriter, r *http.Request, attempt int) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"tracking_number":"1Z999AA10123456784","tracking_url":"https://ups.example/track/1Z999AA10123456784",
			"carrier_identifier":"ups","amount":"120.00","currency":"CAD","packages":[{"tracking_number":"1Z999AA10123456784","label":%q}]}`, label)
	}
}

// httpStation builds a station on an http carrier at url. clk is the
// queue's and the station's clock; its retry waits fire at once (clk is
// set to auto) and the test reads them back with clk.Waited.
func httpStation(t *testing.T, url string, h HTTPCarrierConfig, clk *testClock) (*Station, *queue.DB) {
	clk.SetAuto(true)
	db := openDB(t, t.TempDir(), clk)
	h.URL = url
	if h.Timeout == 0 {
		h.Timeout = Duration(5 * time.Second)
	}
	st := newStation(t, db, clk, Config{Carrier: CarrierConfig{Kind: CarrierHTTP, HTTP: h}})
	return st, db
}

// z64RE matches a ^GF field in Z64 form.
var z64RE = regexp.MustCompile(`\^GFA,(\d+),(\d+),(\d+),:Z64:([A-Za-z0-9+/=]+):([0-9A-F]{4})`)

func TestHTTPCarrierPNGLabel(t *testing.T) {
	pngLabel := carrierPNG(t, 812, 1218)
	f, url := startFulfil(t, okAnswer(base64.StdEncoding.EncodeToString(pngLabel)))
	st, db := httpStation(t, url, HTTPCarrierConfig{AccountID: "123456789", Authorization: "Bearer s3cret"}, newClock())
	ctx := context.Background()
	o := mustCreate(t, st, Order{ID: "SO123", Lines: []Line{{SKU: "IPHONE-7", Quantity: 1}}})
	p, err := st.Ship(ctx, ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 3_175_147, Display: "7 lb", Unit: "lb"},
		Dimensions: &Dimensions{Length: "4", Width: "4", Height: "5", Unit: "in"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.TrackingNumber != "1Z999AA10123456784" || p.Amount != "120.00" || p.Currency != "CAD" || p.Carrier != "UPS" ||
		p.TrackingURL != "https://ups.example/track/1Z999AA10123456784" || p.LabelForm != "carrier-png" {
		t.Errorf("package %+v", p)
	}
	refs, bodies := f.seen()
	if len(refs) != 1 || refs[0] != "SO123-1" || f.auth[0] != "Bearer s3cret" {
		t.Fatalf("upstream saw %v %v", refs, f.auth)
	}
	b := bodies[0]
	pk := b["packages"].([]any)[0].(map[string]any)
	opts := b["options"].(map[string]any)
	if b["account_id"] != "123456789" || b["service_code"] != "GROUND" || b["destination"].(map[string]any)["zip"] != "10019" ||
		b["origin"].(map[string]any)["name"] != "Packbench Demo" || pk["weight"] != 7.0 || pk["weight_unit"] != "lb" ||
		pk["length"] != 4.0 || pk["dimension_unit"] != "in" || opts["reference1"] != "SO123" || opts["label_type"] != "PNG" || opts["is_return"] != false {
		t.Errorf("payload %v", b)
	}
	// One job: a Z64 ^GF label of the configured size, CRC and length right.
	js := jobs(t, db)
	if len(js) != 1 || js[0].Key != "SO123-1" {
		t.Fatalf("jobs %+v", js)
	}
	j, _ := db.Job(ctx, js[0].ID)
	m := z64RE.FindSubmatch(j.Payload)
	if m == nil {
		t.Fatalf("payload is not a Z64 ^GF label: %.200s", j.Payload)
	}
	total, _ := strconv.Atoi(string(m[1]))
	perRow, _ := strconv.Atoi(string(m[3]))
	if perRow != 812/8+1 && perRow != (812+7)/8 {
		t.Errorf("bytes per row %d for an 812-dot label", perRow)
	}
	if crc := fmt.Sprintf("%04X", labelrender.CRC16XMODEM(m[4])); crc != string(m[5]) {
		t.Errorf("Z64 CRC %s, field says %s", crc, m[5])
	}
	z, _ := base64.StdEncoding.DecodeString(string(m[4]))
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(zr)
	if len(raw) != total || bytes.Count(raw, []byte{0}) == len(raw) {
		t.Errorf("inflated %d bytes (want %d), all white: %v", len(raw), total, bytes.Count(raw, []byte{0}) == len(raw))
	}
	if err := labelrender.CheckZPL(j.Payload, nil); err != nil {
		t.Errorf("the ^GF label does not pass CheckZPL: %v", err)
	}
	// The preview is the carrier's own PNG.
	prev, err := st.LabelPNG(ctx, p.LabelID)
	if err != nil || !bytes.Equal(prev, pngLabel) {
		t.Errorf("preview: %d bytes, %v", len(prev), err)
	}
	// The secret is not in the config view.
	if st.Config().Carrier.HTTP.Authorization != "(set)" {
		t.Errorf("config view shows the authorization")
	}
}

func TestHTTPCarrierZPLLabel(t *testing.T) {
	const label = "^XA\n^FO50,50^A0N,40,40^FDUPS GROUND^FS\n^FO50,120^BCN,100,Y,N,N^FD1Z999AA10123456784^FS\n^XZ\n"
	f, url := startFulfil(t, okAnswer(label))
	st, db := httpStation(t, url, HTTPCarrierConfig{LabelType: "zpl"}, newClock())
	ctx := context.Background()
	from := Address{Name: "Store 12", Street1: "1 Main St", City: "Boise", State: "ID", Zip: "83702", Country: "us"}
	o := mustCreate(t, st, Order{ShipFrom: &from, Service: "2DAY"})
	p, err := st.Ship(ctx, ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 1_000_000, Display: "1000 g", Unit: "g"}})
	if err != nil {
		t.Fatal(err)
	}
	_, bodies := f.seen()
	if bodies[0]["options"].(map[string]any)["label_type"] != "ZPL" {
		t.Errorf("label_type %v", bodies[0]["options"])
	}
	if origin := bodies[0]["origin"].(map[string]any); origin["name"] != "Store 12" || origin["country"] != "US" || bodies[0]["service_code"] != "2DAY" {
		t.Errorf("the order's ship-from and service were not sent: %v %v", origin, bodies[0]["service_code"])
	}
	if pk := bodies[0]["packages"].([]any)[0].(map[string]any); pk["weight"] != 1000.0 || pk["weight_unit"] != "g" {
		t.Errorf("weight %v %v", pk["weight"], pk["weight_unit"])
	}
	j, _ := db.Job(ctx, p.JobID)
	if string(j.Payload) != label || p.LabelForm != "carrier-zpl" || p.HasPreview {
		t.Errorf("job payload %q form %s preview %v", j.Payload, p.LabelForm, p.HasPreview)
	}
	if _, err := st.LabelPNG(ctx, p.LabelID); !errors.Is(err, ErrNoPreview) {
		t.Errorf("preview of raw ZPL: %v, want ErrNoPreview", err)
	}
}

func TestHTTPCarrierRefusedZPL(t *testing.T) {
	_, url := startFulfil(t, okAnswer("^XA^FDx^FS^XZ~JR"))
	st, db := httpStation(t, url, HTTPCarrierConfig{LabelType: "ZPL"}, newClock())
	o := mustCreate(t, st, Order{})
	_, err := st.Ship(context.Background(), ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 1000}})
	var ce *CarrierError
	if !errors.As(err, &ce) || !strings.Contains(ce.Message, "~JR") {
		t.Fatalf("err = %v, want a CarrierError naming ~JR", err)
	}
	if js := jobs(t, db); len(js) != 0 {
		t.Errorf("%d jobs for a refused label", len(js))
	}
}

func TestHTTPCarrier422ReachesThePacker(t *testing.T) {
	f, url := startFulfil(t, func(w http.ResponseWriter, r *http.Request, attempt int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		io.WriteString(w, `{"error":"Address validation failed: ZIP 10019 does not match NY-X"}`)
	})
	clk := newClock()
	st, db := httpStation(t, url, HTTPCarrierConfig{}, clk)
	o := mustCreate(t, st, Order{AssociatedIdentifiers: []string{"LPN-9"}})
	if _, err := st.Scan(context.Background(), "LPN-9"); err != nil {
		t.Fatal(err)
	}
	sc := newFeeder(t, st, clk)
	sc.place(2000)
	s := st.State()
	const msg = "Address validation failed: ZIP 10019 does not match NY-X"
	if s.State != FlowArmed || s.Problem == nil || s.Problem.Code != ProblemCarrier || !strings.Contains(s.Problem.Message, msg) {
		t.Fatalf("flow after a 422: %+v", s)
	}
	_, err := st.Ship(context.Background(), ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 1000}})
	var ce *CarrierError
	if !errors.As(err, &ce) || ce.Status != 422 || ce.Message != msg || ce.Temporary || !errors.Is(err, ErrCarrier) {
		t.Fatalf("Ship err = %#v", err)
	}
	refs, _ := f.seen()
	if len(refs) != 2 || refs[0] != o.ID+"-1" || refs[1] != o.ID+"-1" {
		t.Errorf("upstream saw %v: want one call per attempt (no retry of a 4xx), same reference", refs)
	}
	if w := clk.Waited(); len(w) != 0 {
		t.Errorf("waited %v for a 4xx", w)
	}
	if js := jobs(t, db); len(js) != 0 {
		t.Errorf("%d jobs after a refusal", len(js))
	}
	p, err := st.Package(context.Background(), o.ID+"-1")
	if err != nil || p.Status != PackageRequested || p.Error != msg {
		t.Errorf("requested package %+v, %v", p, err)
	}
}

func TestHTTPCarrierTimeoutThenSuccess(t *testing.T) {
	pngLabel := carrierPNG(t, 600, 900)
	ok := okAnswer(base64.StdEncoding.EncodeToString(pngLabel))
	f, url := startFulfil(t, func(w http.ResponseWriter, r *http.Request, attempt int) {
		if attempt == 1 {
			<-r.Context().Done() // the upstream made the label but answers too late
			return
		}
		ok(w, r, attempt)
	})
	clk := newClock()
	st, db := httpStation(t, url, HTTPCarrierConfig{Timeout: Duration(time.Second), Backoff: Duration(time.Second)}, clk)
	o := mustCreate(t, st, Order{})
	p, err := st.Ship(context.Background(), ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 500_000}})
	if err != nil {
		t.Fatal(err)
	}
	refs, _ := f.seen()
	if len(refs) != 2 || refs[0] != p.Reference || refs[1] != p.Reference {
		t.Errorf("upstream saw %v, want the same reference twice", refs)
	}
	if js := jobs(t, db); len(js) != 1 || js[0].Key != p.Reference {
		t.Errorf("jobs %+v, want exactly one", js)
	}
	if w := clk.Waited(); len(w) != 1 || w[0] < 500*time.Millisecond || w[0] > time.Second {
		t.Errorf("backoff %v, want one wait in [0.5s, 1s] (jittered)", w)
	}
}

func TestHTTPCarrier5xxExhausted(t *testing.T) {
	f, url := startFulfil(t, func(w http.ResponseWriter, r *http.Request, attempt int) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"message":"label service under maintenance"}`)
	})
	clk := newClock()
	st, db := httpStation(t, url, HTTPCarrierConfig{Retries: 3, Backoff: Duration(100 * time.Millisecond), MaxBackoff: Duration(250 * time.Millisecond)}, clk)
	o := mustCreate(t, st, Order{})
	_, err := st.Ship(context.Background(), ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 500_000}})
	var ce *CarrierError
	if !errors.As(err, &ce) || ce.Status != 503 || !ce.Temporary || ce.Attempts != 4 || ce.Message != "label service under maintenance" {
		t.Fatalf("err = %#v", err)
	}
	if !strings.Contains(err.Error(), "after 4 attempts") {
		t.Errorf("error text %q does not say it retried", err)
	}
	refs, _ := f.seen()
	if len(refs) != 4 {
		t.Errorf("%d calls, want 4", len(refs))
	}
	if w := clk.Waited(); len(w) != 3 || w[2] > 250*time.Millisecond || w[0] > 100*time.Millisecond {
		t.Errorf("backoff %v: want 3 waits, growing, capped at 250ms", w)
	}
	if js := jobs(t, db); len(js) != 0 {
		t.Errorf("%d jobs, want none", len(js))
	}
	// The upstream recovers: the next attempt resumes the same reference.
	f.answer = okAnswer(base64.StdEncoding.EncodeToString(carrierPNG(t, 400, 600)))
	p, err := st.Ship(context.Background(), ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 500_000}})
	if err != nil || p.Reference != o.ID+"-1" {
		t.Fatalf("after recovery: %+v, %v", p, err)
	}
	if js := jobs(t, db); len(js) != 1 {
		t.Errorf("%d jobs, want 1", len(js))
	}
}

// The retry wait is on the station's clock: the second attempt goes out
// only once the clock has moved by the backoff, and a caller that gives
// up during the wait ends the call without another attempt.
func TestHTTPCarrierRetryWaitsOnTheClock(t *testing.T) {
	ok := okAnswer(base64.StdEncoding.EncodeToString(carrierPNG(t, 400, 600)))
	f, url := startFulfil(t, func(w http.ResponseWriter, r *http.Request, attempt int) {
		if attempt == 2 {
			ok(w, r, attempt)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"message":"busy"}`)
	})
	clk := newClock()
	st, db := httpStation(t, url, HTTPCarrierConfig{Backoff: Duration(time.Second)}, clk)
	clk.SetAuto(false) // the test moves the clock itself
	wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	a := mustCreate(t, st, Order{})
	shipped := shipAsync(st, context.Background(), a.ID)
	if err := clk.WaitWaiters(wctx, 1); err != nil {
		t.Fatal(err)
	}
	notDone(t, shipped, "Ship (its retry waits on the clock)")
	if refs, _ := f.seen(); len(refs) != 1 {
		t.Fatalf("upstream saw %v before the clock moved, want one attempt", refs)
	}
	wait := clk.Pending()[0]
	if wait < 500*time.Millisecond || wait > time.Second {
		t.Errorf("retry wait %v, want one in [0.5s, 1s] (jittered)", wait)
	}
	clk.Advance(wait)
	if r := await(t, shipped, "Ship after the clock moved"); r.err != nil || r.p.Reference != a.ID+"-1" {
		t.Fatalf("%+v, %v", r.p, r.err)
	}

	b := mustCreate(t, st, Order{})
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	given := shipAsync(st, ctx, b.ID)
	if err := clk.WaitWaiters(wctx, 1); err != nil {
		t.Fatal(err)
	}
	stop()
	r := await(t, given, "Ship after its context ended during the retry wait")
	var ce *CarrierError
	if !errors.Is(r.err, context.Canceled) || !errors.As(r.err, &ce) || ce.Attempts != 1 {
		t.Fatalf("Ship = %+v, %v; want the first attempt's error and context.Canceled", r.p, r.err)
	}
	if refs, _ := f.seen(); len(refs) != 3 || refs[2] != b.ID+"-1" {
		t.Errorf("upstream saw %v, want one attempt for %s-1", refs, b.ID)
	}
	if js := jobs(t, db); len(js) != 1 || js[0].Key != a.ID+"-1" {
		t.Errorf("jobs %+v, want only %s-1", js, a.ID)
	}
}

// The scale path with a real filter and the http carrier: a bounce during
// a slow upstream still gives one job.
func TestHTTPCarrierFlowOneJobPerPlacement(t *testing.T) {
	_, url := startFulfil(t, okAnswer(base64.StdEncoding.EncodeToString(carrierPNG(t, 812, 1218))))
	st, db := httpStation(t, url, HTTPCarrierConfig{}, newClock())
	o := mustCreate(t, st, Order{Packages: 2})
	if _, err := st.Arm(context.Background(), o.ID); err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	sc := newFeeder(t, st, clk)
	sc.place(1500)
	sc.hold(1550, scale.StatusMotion, 2)
	sc.hold(1500, scale.StatusStable, 8)
	if js := jobs(t, db); len(js) != 1 {
		t.Fatalf("%d jobs after place + bounce, want 1", len(js))
	}
	sc.lift()
	sc.place(1500)
	if js := jobs(t, db); len(js) != 2 || js[1].Key != o.ID+"-2" {
		t.Fatalf("jobs %+v", js)
	}
}

// While the carrier is being asked the flow is "labelling": a scan or a
// disarm is refused (ErrBusy) rather than changing the order under it.
func TestFlowBusyWhileLabelling(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	ok := okAnswer(base64.StdEncoding.EncodeToString(carrierPNG(t, 400, 600)))
	_, url := startFulfil(t, func(w http.ResponseWriter, r *http.Request, attempt int) {
		arrived <- struct{}{}
		<-release
		ok(w, r, attempt)
	})
	st, db := httpStation(t, url, HTTPCarrierConfig{}, newClock())
	a := mustCreate(t, st, Order{})
	b := mustCreate(t, st, Order{})
	if _, err := st.Arm(context.Background(), a.ID); err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	sc := newFeeder(t, st, clk)
	done := make(chan []scale.EventKind)
	go func() { done <- sc.place(1000) }()
	<-arrived
	if s := st.State(); s.State != FlowLabelling {
		t.Fatalf("state %q while the carrier is asked", s.State)
	}
	if _, err := st.Scan(context.Background(), b.ID); !errors.Is(err, ErrBusy) {
		t.Errorf("scan while labelling: %v, want ErrBusy", err)
	}
	if _, err := st.Disarm(context.Background()); !errors.Is(err, ErrBusy) {
		t.Errorf("disarm while labelling: %v, want ErrBusy", err)
	}
	close(release)
	<-done
	if s := st.State(); s.State != FlowPrinting || s.Order.ID != a.ID {
		t.Errorf("after labelling %+v", s)
	}
	if js := jobs(t, db); len(js) != 1 || js[0].Ref != a.ID {
		t.Errorf("jobs %+v", js)
	}
}

// A crash while the upstream is answering: the package was recorded as
// requested, so after a restart the same reference is asked again and
// exactly one job results.
func TestHTTPCarrierResumesAfterCrash(t *testing.T) {
	arrived := make(chan struct{}, 1)
	ok := okAnswer(base64.StdEncoding.EncodeToString(carrierPNG(t, 400, 600)))
	f, url := startFulfil(t, func(w http.ResponseWriter, r *http.Request, attempt int) {
		if attempt == 1 {
			arrived <- struct{}{}
			<-r.Context().Done()
			return
		}
		ok(w, r, attempt)
	})
	dir := t.TempDir()
	clk := newClock()
	db := openDB(t, dir, clk)
	cfg := Config{Carrier: CarrierConfig{Kind: CarrierHTTP, HTTP: HTTPCarrierConfig{URL: url}}}
	st := newStation(t, db, clk, cfg)
	o := mustCreate(t, st, Order{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := st.Ship(ctx, ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 700_000}})
		errc <- err
	}()
	<-arrived
	cancel() // the process dies mid-call
	if err := <-errc; err == nil {
		t.Fatal("Ship succeeded after its context was cancelled")
	}
	db.Close()

	db = openDB(t, dir, clk)
	st = newStation(t, db, clk, cfg)
	p, err := st.Package(context.Background(), o.ID+"-1")
	if err != nil || p.Status != PackageRequested {
		t.Fatalf("after restart the package is %+v, %v; want requested", p, err)
	}
	p, err = st.Ship(context.Background(), ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 700_000}})
	if err != nil {
		t.Fatal(err)
	}
	refs, _ := f.seen()
	if len(refs) != 2 || refs[0] != o.ID+"-1" || refs[1] != o.ID+"-1" || p.Reference != o.ID+"-1" {
		t.Errorf("upstream saw %v, package %s", refs, p.Reference)
	}
	if js := jobs(t, db); len(js) != 1 {
		t.Errorf("%d jobs, want 1", len(js))
	}
}
