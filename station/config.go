package station

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/packbench/packbench/internal/duration"
	"github.com/packbench/packbench/internal/textcheck"
	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/scale"
)

// Config is the station's part of the daemon config. The daemon decodes its
// sections ([label], [carrier], [flow], [ship_from]) into these structs;
// the zero value of each is the embedded default (4×6 in at 203 dpi,
// native ZPL, the offline local carrier with SSCC-18 numbers).
type Config struct {
	Label       LabelConfig       `toml:"label" json:"label"`
	Carrier     CarrierConfig     `toml:"carrier" json:"carrier"`
	Flow        FlowConfig        `toml:"flow" json:"flow"`
	ShipFrom    Address           `toml:"ship_from" json:"ship_from"`
	Fulfil      FulfilConfig      `toml:"fulfil" json:"fulfil"`
	ZPL         ZPLConfig         `toml:"zpl" json:"zpl"`
	Tracking    TrackingConfig    `toml:"tracking" json:"tracking"`
	Shopify     ShopifyConfig     `toml:"shopify" json:"shopify"`
	Commands    CommandConfig     `toml:"commands" json:"commands"`
	Packrooster PackroosterConfig `toml:"packrooster" json:"packrooster"`
}

// ZPLConfig is [zpl]: how raw ZPL from outside (MQTT pushes, a carrier's
// ZPL labels) is checked before it reaches a printer.
type ZPLConfig struct {
	// Allow lists printer-setting commands an admin accepts in raw ZPL,
	// each named ("^LS", "^MM", "^MD"; real carrier labels carry them).
	// Everything that changes the printer beyond the format is refused
	// unless listed here; each use is logged at info with the job id.
	Allow []string `toml:"allow" json:"allow,omitempty"`
}

// LabelConfig is the label the bench prints ([label]).
type LabelConfig struct {
	// Size is "4x6" (default), "4x4", any WxH in inches, or "812x1218dots".
	Size string `toml:"size" json:"size"`
	// DPI of the print head: 152, 203 (default), 300 or 600.
	DPI int `toml:"dpi" json:"dpi"`
	// Format is "native" (default: printer fonts and barcodes) or "raster"
	// (the label drawn here and sent as a ^GF Z64 graphic).
	Format string `toml:"format" json:"format"`
	// WeightUnit is the unit printed on the label: g, kg, oz or lb; empty
	// means the unit the scale displays (grams if it is none of those).
	WeightUnit string `toml:"weight_unit" json:"weight_unit,omitempty"`
}

// Label formats.
const (
	FormatNative = "native"
	FormatRaster = "raster"
)

// CarrierConfig chooses where tracking numbers, costs and labels come from
// ([carrier]). The local fields sit in [carrier] itself; the http fields in
// [carrier.http].
type CarrierConfig struct {
	// Kind is "local" (default, offline) or "http" (a Fulfil-style /label upstream).
	Kind string `toml:"kind" json:"kind"`
	// Name is printed on the label and stored on packages (default "LOCAL"
	// for local, "HTTP" for http unless the upstream names its carrier).
	Name string `toml:"name" json:"name,omitempty"`
	// Service is the service code sent upstream and printed ("GROUND" default).
	Service string `toml:"service" json:"service,omitempty"`
	// Currency of the amounts from the rate table (default "USD").
	Currency string `toml:"currency" json:"currency,omitempty"`
	// TrackingURL is a template with {tracking}, e.g.
	// "https://track.example.com/{tracking}". Empty: no URL (local), or
	// the upstream's URL (http; the template is the fallback).
	TrackingURL string `toml:"tracking_url" json:"tracking_url,omitempty"`

	// Scheme numbers local parcels: "sscc" (default) or "sequence".
	Scheme string `toml:"scheme" json:"scheme,omitempty"`
	// GS1Prefix is the GS1 company prefix (7 to 10 digits) for SSCC-18.
	// The default "0000000" is for demos only: it is no real company's.
	GS1Prefix string `toml:"gs1_prefix" json:"gs1_prefix,omitempty"`
	// Extension is the SSCC extension digit 0-9 (default 0).
	Extension int `toml:"extension" json:"extension,omitempty"`
	// Prefix starts "sequence" tracking numbers (letters and digits, e.g. "PB").
	Prefix string `toml:"prefix" json:"prefix,omitempty"`
	// Digits pads the sequence number (default 9).
	Digits int `toml:"digits" json:"digits,omitempty"`
	// Check is the sequence check digit: "mod10" (GS1 weights 3,1; default) or "none".
	Check string `toml:"check" json:"check,omitempty"`
	// Rates price local parcels by zone and weight band.
	Rates RateTable `toml:"rates" json:"rates"`

	HTTP HTTPCarrierConfig `toml:"http" json:"http"`
}

// RateTable prices a parcel: the destination picks a zone (first matching
// rule, else DefaultZone), the weight picks the first band whose UpTo is at
// or above it, and the band's price for the zone is the cost.
//
//	[carrier.rates]
//	default_zone = "1"
//	[[carrier.rates.zones]]
//	zone = "2"
//	countries = ["CA", "MX"]
//	[[carrier.rates.bands]]
//	up_to = "1lb"
//	prices = { "1" = "4.50", "2" = "9.00" }
type RateTable struct {
	DefaultZone string     `toml:"default_zone" json:"default_zone,omitempty"`
	Zones       []ZoneRule `toml:"zones" json:"zones,omitempty"`
	Bands       []RateBand `toml:"bands" json:"bands,omitempty"`
}

// ZoneRule maps destinations to a zone. A rule matches when the country is
// in Countries (or Countries is empty) and the zip starts with one of
// ZipPrefixes (or ZipPrefixes is empty).
type ZoneRule struct {
	Zone        string   `toml:"zone" json:"zone"`
	Countries   []string `toml:"countries" json:"countries,omitempty"`
	ZipPrefixes []string `toml:"zip_prefixes" json:"zip_prefixes,omitempty"`
}

// RateBand is one weight band: parcels up to UpTo ("500g", "1lb", "2.5kg")
// cost Prices[zone] (a decimal, "4.50").
type RateBand struct {
	UpTo   string            `toml:"up_to" json:"up_to"`
	Prices map[string]string `toml:"prices" json:"prices"`
}

// HTTPCarrierConfig is a Fulfil-style /label upstream ([carrier.http]).
type HTTPCarrierConfig struct {
	// URL receives the POST, e.g. "https://labels.example.com/label".
	URL string `toml:"url" json:"url,omitempty"`
	// AccountID is sent as account_id.
	AccountID string `toml:"account_id" json:"account_id,omitempty"`
	// LabelType asks for "PNG" (default) or "ZPL".
	LabelType string `toml:"label_type" json:"label_type,omitempty"`
	// Timeout per attempt (default 15s).
	Timeout Duration `toml:"timeout" json:"timeout,omitempty"`
	// Retries after the first attempt for timeouts and 5xx (default 3; -1: none).
	Retries int `toml:"retries" json:"retries,omitempty"`
	// Backoff is the first retry delay, doubled each time with jitter up to
	// MaxBackoff (defaults 500ms and 8s).
	Backoff    Duration `toml:"backoff" json:"backoff,omitempty"`
	MaxBackoff Duration `toml:"max_backoff" json:"max_backoff,omitempty"`
	// Authorization is sent as the Authorization header ("Bearer …").
	// It is a secret: never logged, redacted by Config.Redacted.
	Authorization string `toml:"authorization" json:"authorization,omitempty"`
	// Headers are extra request headers; their values are treated as secrets too.
	Headers map[string]string `toml:"headers" json:"headers,omitempty"`
}

// FlowConfig tunes the hands-free flow ([flow]).
type FlowConfig struct {
	// AutoArmNext arms the oldest open order waiting for a weight when
	// the flow is idle (no scan needed).
	AutoArmNext bool `toml:"auto_arm_next" json:"auto_arm_next"`
	// Printer names the printer flow labels go to; empty means the first
	// of Options.Printers.
	Printer string `toml:"printer" json:"printer,omitempty"`
}

// Duration is the one config duration type (internal/duration): "300ms"
// or "5s" in TOML and JSON.
type Duration = duration.Duration

// DefaultShipFrom is the return address of the embedded demo bench.
var defaultShipFrom = Address{
	Name: "Packbench Demo", Company: "Packbench", Street1: "1 Bench Street",
	City: "Springfield", State: "IL", Zip: "62701", Country: "US",
}

// Carrier kinds.
const (
	CarrierLocal = "local"
	CarrierHTTP  = "http"
)

// Redacted returns a copy safe to show (API config view, logs): secrets
// are replaced by "(set)".
func (c Config) Redacted() Config {
	if c.Carrier.HTTP.Authorization != "" {
		c.Carrier.HTTP.Authorization = "(set)"
	}
	if c.Shopify.ClientSecret != "" {
		c.Shopify.ClientSecret = "(set)"
	}
	if c.Shopify.CallbackToken != "" {
		c.Shopify.CallbackToken = "(set)"
	}
	if len(c.Carrier.HTTP.Headers) > 0 {
		h := make(map[string]string, len(c.Carrier.HTTP.Headers))
		for k := range c.Carrier.HTTP.Headers {
			h[k] = "(set)"
		}
		c.Carrier.HTTP.Headers = h
	}
	return c
}

// WithDefaults returns the config with every empty field set to its default.
func (c Config) WithDefaults() Config {
	l := &c.Label
	if l.Size == "" {
		l.Size = "4x6"
	}
	if l.DPI == 0 {
		l.DPI = 203
	}
	if l.Format == "" {
		l.Format = FormatNative
	}
	k := &c.Carrier
	if k.Kind == "" {
		k.Kind = CarrierLocal
	}
	if k.Name == "" {
		k.Name = strings.ToUpper(k.Kind)
	}
	if k.Service == "" {
		k.Service = "GROUND"
	}
	if k.Currency == "" {
		k.Currency = "USD"
	}
	if k.Scheme == "" {
		k.Scheme = SchemeSSCC
	}
	if k.GS1Prefix == "" {
		k.GS1Prefix = "0000000"
	}
	if k.Digits == 0 {
		k.Digits = 9
	}
	if k.Check == "" {
		k.Check = "mod10"
	}
	h := &k.HTTP
	if h.LabelType == "" {
		h.LabelType = "PNG"
	}
	h.LabelType = strings.ToUpper(h.LabelType)
	if h.Timeout == 0 {
		h.Timeout = Duration(15 * time.Second)
	}
	if h.Retries == 0 {
		h.Retries = 3
	}
	if h.Backoff == 0 {
		h.Backoff = Duration(500 * time.Millisecond)
	}
	if h.MaxBackoff == 0 {
		h.MaxBackoff = Duration(8 * time.Second)
	}
	if c.ShipFrom == (Address{}) {
		c.ShipFrom = defaultShipFrom
	}
	if len(c.Fulfil.ServiceCodes) == 0 {
		c.Fulfil.ServiceCodes = []string{k.Service}
	}
	c.Shopify.withDefaults()
	c.Commands = c.Commands.withDefaults()
	return c
}

// Validate checks the config (after WithDefaults); errors wrap ErrConfig and
// name the key, e.g. "carrier.gs1_prefix: want 7 to 10 digits".
func (c Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrConfig, key, fmt.Sprintf(format, args...))
	}
	if labelrender.DotsPerMM(c.Label.DPI) == 0 {
		return bad("label.dpi", "want 152, 203, 300 or 600, not %d", c.Label.DPI)
	}
	if err := (&labelrender.Policy{Allow: c.ZPL.Allow}).Validate(); err != nil {
		return bad("zpl", "%v", err) // "zpl: allow[1]: …"
	}
	if _, _, err := labelrender.ParseSize(c.Label.Size, c.Label.DPI); err != nil {
		return bad("label.size", "%v", err)
	}
	if c.Label.Format != FormatNative && c.Label.Format != FormatRaster {
		return bad("label.format", "want %q or %q, not %q", FormatNative, FormatRaster, c.Label.Format)
	}
	switch c.Label.WeightUnit {
	case "", "g", "kg", "oz", "lb":
	default:
		return bad("label.weight_unit", "want g, kg, oz or lb, not %q", c.Label.WeightUnit)
	}
	k := c.Carrier
	if textcheck.Text(k.Name, 64) != nil {
		return bad("carrier.name", "want up to 64 printable characters")
	}
	if textcheck.Text(k.Service, 64) != nil {
		return bad("carrier.service", "want up to 64 printable characters")
	}
	if len(k.Currency) != 3 || strings.ToUpper(k.Currency) != k.Currency || !isLetters(k.Currency) {
		return bad("carrier.currency", "want an ISO 4217 code like USD, not %q", k.Currency)
	}
	if k.TrackingURL != "" {
		if !strings.Contains(k.TrackingURL, "{tracking}") {
			return bad("carrier.tracking_url", "must contain {tracking}")
		}
		if u, err := url.Parse(strings.ReplaceAll(k.TrackingURL, "{tracking}", "x")); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return bad("carrier.tracking_url", "want an http or https URL template")
		}
	}
	switch k.Kind {
	case CarrierLocal:
		if err := k.validateLocal(); err != nil {
			return err
		}
	case CarrierHTTP:
		h := k.HTTP
		u, err := url.Parse(h.URL)
		if h.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("carrier.http.url", "want an http or https URL, like https://labels.example.com/label")
		}
		if h.LabelType != "PNG" && h.LabelType != "ZPL" {
			return bad("carrier.http.label_type", "want PNG or ZPL, not %q", h.LabelType)
		}
		if h.Retries < -1 || h.Retries > 20 {
			return bad("carrier.http.retries", "want -1 (none) to 20")
		}
		if h.Backoff > h.MaxBackoff {
			return bad("carrier.http.backoff", "larger than max_backoff")
		}
		for name := range h.Headers {
			if name == "" || strings.ContainsAny(name, " :\r\n") {
				return bad("carrier.http.headers", "header name %q is not valid", name)
			}
		}
	default:
		return bad("carrier.kind", "want %q or %q, not %q", CarrierLocal, CarrierHTTP, k.Kind)
	}
	if err := c.ShipFrom.validate("ship_from"); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if err := c.Tracking.validate(); err != nil {
		return err
	}
	if err := c.Shopify.validate(); err != nil {
		return err
	}
	if err := c.Commands.validate(); err != nil {
		return err
	}
	if err := c.Packrooster.validate(); err != nil {
		return err
	}
	return c.Fulfil.validate()
}

func (k CarrierConfig) validateLocal() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%w: carrier.%s: %s", ErrConfig, key, fmt.Sprintf(format, args...))
	}
	switch k.Scheme {
	case SchemeSSCC:
		if n := len(k.GS1Prefix); n < 7 || n > 10 || !isDigits(k.GS1Prefix) {
			return bad("gs1_prefix", "want 7 to 10 digits, not %q", k.GS1Prefix)
		}
		if k.Extension < 0 || k.Extension > 9 {
			return bad("extension", "want one digit 0-9")
		}
	case SchemeSequence:
		if k.Prefix == "" || len(k.Prefix) > 20 || !isAlnum(k.Prefix) {
			return bad("prefix", "want 1 to 20 letters or digits, not %q", k.Prefix)
		}
		if k.Digits < 1 || k.Digits > 18 {
			return bad("digits", "want 1 to 18")
		}
		if k.Check != "mod10" && k.Check != "none" {
			return bad("check", "want mod10 or none, not %q", k.Check)
		}
	default:
		return bad("scheme", "want %q or %q, not %q", SchemeSSCC, SchemeSequence, k.Scheme)
	}
	if _, err := compileRates(k.Rates); err != nil {
		return fmt.Errorf("%w: carrier.rates%v", ErrConfig, err)
	}
	return nil
}

// compiledBand is a rate band with its limit in milligrams and prices in
// minor units (cents).
type compiledBand struct {
	upTo   int64
	prices map[string]int64
}

// compileRates checks the table; the error text starts with the sub-path
// (".bands[0].up_to: ...").
func compileRates(t RateTable) ([]compiledBand, error) {
	zones := map[string]bool{}
	if t.DefaultZone != "" {
		zones[t.DefaultZone] = true
	}
	for i, z := range t.Zones {
		if z.Zone == "" {
			return nil, fmt.Errorf(".zones[%d].zone: required", i)
		}
		for j, c := range z.Countries {
			if len(c) != 2 || !isLetters(c) {
				return nil, fmt.Errorf(".zones[%d].countries[%d]: want an ISO 3166 alpha-2 code, not %q", i, j, c)
			}
		}
		zones[z.Zone] = true
	}
	var out []compiledBand
	var last int64 = -1
	for i, b := range t.Bands {
		mg, err := scale.ParseWeight(b.UpTo)
		if err != nil || mg <= 0 {
			return nil, fmt.Errorf(".bands[%d].up_to: want a weight with a unit like 500g or 1lb, not %q", i, b.UpTo)
		}
		if mg <= last {
			return nil, fmt.Errorf(".bands[%d].up_to: bands must grow (%s is not above the band before)", i, b.UpTo)
		}
		last = mg
		cb := compiledBand{upTo: mg, prices: map[string]int64{}}
		for zone, p := range b.Prices {
			cents, err := parseMoney(p)
			if err != nil {
				return nil, fmt.Errorf(".bands[%d].prices.%s: %v", i, zone, err)
			}
			cb.prices[zone] = cents
		}
		out = append(out, cb)
	}
	if len(out) > 0 && t.DefaultZone == "" {
		return nil, fmt.Errorf(".default_zone: required when bands are set")
	}
	return out, nil
}

// parseMoney reads a decimal amount with at most two decimals ("4.5",
// "4.50", "12") into minor units.
func parseMoney(s string) (int64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || !isDigits(whole) || len(whole) > 12 || len(frac) > 2 || (frac != "" && !isDigits(frac)) || strings.HasSuffix(s, ".") {
		return 0, fmt.Errorf("want a decimal amount like 4.50, not %q", s)
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	for len(frac) < 2 {
		frac += "0"
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	return w*100 + f, nil
}

func formatMoney(cents int64) string {
	return fmt.Sprintf("%d.%02d", cents/100, cents%100)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return s != ""
}
