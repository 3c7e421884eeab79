package station

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/packbench/packbench/internal/backoff"
	"github.com/packbench/packbench/internal/clock"
	"github.com/packbench/packbench/internal/strictjson"
	"github.com/packbench/packbench/internal/textcheck"
	"github.com/packbench/packbench/pdfrender"
)

// HTTPCarrierOptions are the http carrier's dependencies; nil fields mean defaults.
type HTTPCarrierOptions struct {
	// Client sends the requests; nil means a plain client (each attempt
	// carries its own timeout).
	Client *http.Client
	// Logger; nil discards. Header values and the authorization are never logged.
	Logger *slog.Logger
	// Clock times the waits between attempts; nil means clock.Real{}.
	Clock clock.Clock
	// Jitter returns a number in [0, 1) for the retry backoff
	// (internal/backoff); nil means math/rand/v2.
	Jitter func() float64
}

// HTTPCarrier asks a Fulfil-style /label upstream for each package.
type HTTPCarrier struct {
	cfg    CarrierConfig
	client *http.Client
	log    *slog.Logger
	clock  clock.Clock
	jitter func() float64
}

// Limits on what the upstream may send back.
const (
	maxUpstreamBody    = 16 << 20 // a few PNG labels in base64
	maxUpstreamMessage = 500      // bytes of an error message passed on
)

// NewHTTPCarrier checks cfg (with defaults applied) and returns the carrier.
func NewHTTPCarrier(cfg CarrierConfig, opts *HTTPCarrierOptions) (*HTTPCarrier, error) {
	cfg.Kind = CarrierHTTP
	full := Config{Carrier: cfg}.WithDefaults()
	if err := full.Validate(); err != nil {
		return nil, fmt.Errorf("http carrier: %w", err)
	}
	c := &HTTPCarrier{cfg: full.Carrier}
	if opts != nil {
		c.client, c.log, c.clock, c.jitter = opts.Client, opts.Logger, opts.Clock, opts.Jitter
	}
	if c.client == nil {
		c.client = &http.Client{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.clock == nil {
		c.clock = clock.Real{}
	}
	return c, nil
}

// wait returns after d on the carrier's clock, or ctx's error once ctx
// ends. A ctx that has ended wins even if d has also passed.
func (c *HTTPCarrier) wait(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
	case <-c.clock.After(d):
	}
	return ctx.Err()
}

// request builds the payload for one package.
func (c *HTTPCarrier) request(req LabelRequest) FulfilLabelRequest {
	var body FulfilLabelRequest
	body.AccountID = c.cfg.HTTP.AccountID
	body.ServiceCode = req.Service
	if body.ServiceCode == "" {
		body.ServiceCode = c.cfg.Service
	}
	body.Origin, body.Destination = toFulfil(req.From), toFulfil(req.To)
	value, unit := fulfilWeight(req.Weight)
	p := FulfilPackage{Weight: value, WeightUnit: unit, Description: "Merchandise", Reference: req.Reference, Lines: []FulfilLine{}}
	if d := req.Dimensions; d != nil {
		l, w, h, u := json.Number(d.Length), json.Number(d.Width), json.Number(d.Height), d.Unit
		p.Length, p.Width, p.Height, p.DimensionUnit = &l, &w, &h, &u
	}
	for _, l := range req.Lines {
		p.Lines = append(p.Lines, FulfilLine{SKU: l.SKU, Quantity: l.Quantity, UOM: "u"})
	}
	body.Packages = []FulfilPackage{p}
	body.Customer.Email = req.To.Email
	body.Options.Reference1 = req.OrderID
	body.Options.LabelType = c.cfg.HTTP.LabelType
	return body
}

// fulfilWeight is the weight as the scale displayed it when its unit is
// one Fulfil knows, else exact grams.
func fulfilWeight(w Weight) (json.Number, string) {
	switch w.Unit {
	case "g", "kg", "oz", "lb":
		if v, _, ok := strings.Cut(w.Display, " "); ok && isDecimal(v) {
			return json.Number(v), w.Unit
		}
	}
	return json.Number(fmt.Sprintf("%d.%03d", w.Milligrams/1000, w.Milligrams%1000)), "g"
}

// Label implements Carrier: one POST per attempt, the same package
// reference every time. 4xx answers are final and carry the upstream's
// message; timeouts, connection failures, 408, 429 and 5xx are retried
// with jittered exponential backoff.
func (c *HTTPCarrier) Label(ctx context.Context, req LabelRequest) (LabelResult, error) {
	body, err := json.Marshal(c.request(req))
	if err != nil {
		return LabelResult{}, fmt.Errorf("http carrier: encode request: %w", err)
	}
	h := c.cfg.HTTP
	attempts := 1 + max(h.Retries, 0)
	bo := backoff.Backoff{Min: time.Duration(h.Backoff), Max: time.Duration(h.MaxBackoff), Jitter: c.jitter}
	var last *CarrierError
	for i := 1; i <= attempts; i++ {
		res, cerr := c.attempt(ctx, req.Reference, body)
		if cerr == nil {
			if i > 1 {
				c.log.Info("carrier answered after retrying", "reference", req.Reference, "attempts", i)
			}
			return res, nil
		}
		cerr.Attempts = i
		last = cerr
		if !cerr.Temporary || ctx.Err() != nil {
			break
		}
		c.log.Warn("carrier attempt failed", "reference", req.Reference, "attempt", i, "of", attempts, "status", cerr.Status, "err", cerr.Message)
		if i == attempts {
			break
		}
		if err := c.wait(ctx, bo.Next()); err != nil {
			break
		}
	}
	if err := ctx.Err(); err != nil {
		return LabelResult{}, fmt.Errorf("http carrier: %w (%w)", last, err)
	}
	return LabelResult{}, last
}

// attempt makes one request; the error says whether it is worth retrying.
func (c *HTTPCarrier) attempt(ctx context.Context, reference string, body []byte) (LabelResult, *CarrierError) {
	h := c.cfg.HTTP
	actx, cancel := context.WithTimeout(ctx, time.Duration(h.Timeout))
	defer cancel()
	r, err := http.NewRequestWithContext(actx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return LabelResult{}, &CarrierError{Carrier: CarrierHTTP, Message: "bad request: " + err.Error()}
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json")
	r.Header.Set("Idempotency-Key", reference)
	for k, v := range h.Headers {
		r.Header.Set(k, v)
	}
	if h.Authorization != "" {
		r.Header.Set("Authorization", h.Authorization)
	}
	resp, err := c.client.Do(r)
	if err != nil {
		return LabelResult{}, transportError(actx, err, time.Duration(h.Timeout))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBody+1))
	if err != nil {
		return LabelResult{}, transportError(actx, err, time.Duration(h.Timeout))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		temp := resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests
		return LabelResult{}, &CarrierError{Carrier: CarrierHTTP, Status: resp.StatusCode, Message: upstreamMessage(resp.StatusCode, data), Temporary: temp}
	}
	if len(data) > maxUpstreamBody {
		return LabelResult{}, &CarrierError{Carrier: CarrierHTTP, Status: resp.StatusCode, Message: fmt.Sprintf("the answer is larger than %d bytes", maxUpstreamBody)}
	}
	res, err := c.decode(data)
	if err != nil {
		return LabelResult{}, &CarrierError{Carrier: CarrierHTTP, Status: resp.StatusCode, Message: "unusable answer: " + err.Error()}
	}
	return res, nil
}

func transportError(ctx context.Context, err error, timeout time.Duration) *CarrierError {
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &CarrierError{Carrier: CarrierHTTP, Message: fmt.Sprintf("no answer within %s", timeout), Temporary: true}
	}
	if ctx.Err() != nil {
		return &CarrierError{Carrier: CarrierHTTP, Message: "cancelled: " + ctx.Err().Error()}
	}
	// The URL is config, not a secret; the error text carries no headers.
	return &CarrierError{Carrier: CarrierHTTP, Message: "cannot reach the upstream: " + err.Error(), Temporary: true}
}

// upstreamMessage extracts the upstream's own words from an error body:
// {"error":"…"}, {"error":{"message":"…"}}, {"message":"…"},
// {"errors":["…"]} or plain text.
func upstreamMessage(status int, data []byte) string {
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Errors  json.RawMessage `json:"errors"`
		Detail  string          `json:"detail"`
	}
	msg := ""
	if json.Unmarshal(data, &v) == nil {
		var s string
		var obj struct {
			Message string `json:"message"`
		}
		var list []json.RawMessage
		switch {
		case json.Unmarshal(v.Error, &s) == nil && s != "":
			msg = s
		case json.Unmarshal(v.Error, &obj) == nil && obj.Message != "":
			msg = obj.Message
		case v.Message != "":
			msg = v.Message
		case v.Detail != "":
			msg = v.Detail
		case json.Unmarshal(v.Errors, &list) == nil && len(list) > 0:
			var parts []string
			for _, e := range list {
				if json.Unmarshal(e, &s) == nil {
					parts = append(parts, s)
				} else if json.Unmarshal(e, &obj) == nil && obj.Message != "" {
					parts = append(parts, obj.Message)
				}
			}
			msg = strings.Join(parts, "; ")
		}
	}
	if msg == "" {
		msg = strings.TrimSpace(string(data))
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	// Shown to the packer: controls become spaces, bidi characters go (and
	// strings.Map turns bytes that are not UTF-8 into U+FFFD).
	msg = strings.Map(func(r rune) rune {
		switch {
		case textcheck.IsControl(r):
			return ' '
		case textcheck.IsBidi(r):
			return -1
		}
		return r
	}, msg)
	if len(msg) > maxUpstreamMessage {
		cut := maxUpstreamMessage
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}

// decode checks the upstream's answer and takes the label out of it.
func (c *HTTPCarrier) decode(data []byte) (LabelResult, error) {
	var resp FulfilLabelResponse
	// Unknown members are the upstream's business, but a member given
	// twice (which encoding/json reads as the last) or a string that is not
	// UTF-8 (which it repairs silently) is refused, as from any client.
	if err := strictjson.Check(data, nil, nil); err != nil {
		return LabelResult{}, fmt.Errorf("not the expected JSON: %v", err)
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return LabelResult{}, fmt.Errorf("not the expected JSON: %v", err)
	}
	if len(resp.Packages) == 0 || resp.Packages[0].Label == "" {
		return LabelResult{}, errors.New("packages[0].label: missing")
	}
	pk := resp.Packages[0]
	res := LabelResult{TrackingNumber: resp.TrackingNumber, TrackingURL: resp.TrackingURL,
		Amount: string(resp.Amount), Currency: resp.Currency, Carrier: c.cfg.Name}
	if pk.TrackingNumber != "" {
		res.TrackingNumber = pk.TrackingNumber
	}
	if pk.TrackingURL != "" {
		res.TrackingURL = pk.TrackingURL
	}
	if res.TrackingNumber == "" {
		return LabelResult{}, errors.New("tracking_number: missing")
	}
	if err := textcheck.ID(res.TrackingNumber, 64); err != nil {
		return LabelResult{}, fmt.Errorf("tracking_number: %q is not a usable tracking number: %v", res.TrackingNumber, err)
	}
	if res.Amount != "" {
		if _, err := parseMoney(res.Amount); err != nil && !isDecimal(res.Amount) {
			return LabelResult{}, fmt.Errorf("amount: %v", err)
		}
	}
	if res.Currency == "" && res.Amount != "" {
		res.Currency = c.cfg.Currency
	}
	if res.TrackingURL != "" && textcheck.Text(res.TrackingURL, 2048) != nil {
		return LabelResult{}, errors.New("tracking_url: not a usable URL")
	}
	if resp.CarrierIdentifier != "" && isIdentifier(resp.CarrierIdentifier) {
		res.Carrier = strings.ToUpper(resp.CarrierIdentifier)
	}
	if c.cfg.HTTP.LabelType == "ZPL" {
		res.ZPL = []byte(pk.Label)
		return res, nil
	}
	img, err := base64.StdEncoding.DecodeString(strings.TrimSpace(pk.Label))
	if err != nil {
		if img, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(pk.Label), "=")); err != nil {
			return LabelResult{}, fmt.Errorf("packages[0].label: not base64: %v", err)
		}
	}
	// Many label services answer a PNG request with a PDF: both print.
	switch {
	case bytes.HasPrefix(img, []byte("\x89PNG\r\n\x1a\n")):
		res.PNG = img
	case pdfrender.IsPDF(img):
		res.PDF = img
	default:
		return LabelResult{}, errors.New("packages[0].label: not a PNG image or a PDF")
	}
	return res, nil
}

func isIdentifier(s string) bool {
	if len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return s != ""
}
