package station

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"
)

const fullTOML = `
[label]
size = "4x4"
dpi = 300
format = "raster"
weight_unit = "lb"

[carrier]
kind = "local"
name = "Bench Post"
service = "EXPRESS"
currency = "EUR"
tracking_url = "https://track.example.com/{tracking}"
scheme = "sequence"
prefix = "PB"
digits = 8
check = "mod10"

[carrier.rates]
default_zone = "1"

[[carrier.rates.zones]]
zone = "2"
countries = ["CA", "MX"]
zip_prefixes = []

[[carrier.rates.bands]]
up_to = "1lb"
prices = { "1" = "4.50", "2" = "9.00" }

[[carrier.rates.bands]]
up_to = "10kg"
prices = { "1" = "12.00", "2" = "20.00" }

[carrier.http]
url = "https://labels.example.com/label"
account_id = "123456789"
label_type = "ZPL"
timeout = "20s"
retries = 2
backoff = "250ms"
max_backoff = "4s"
authorization = "Bearer abc"
headers = { "X-Tenant" = "t1" }

[flow]
auto_arm_next = true
printer = "zebra"

[ship_from]
name = "Warehouse 3"
street1 = "444 Castro St"
city = "Mountain View"
state = "CA"
zip = "94041"
country = "US"
`

func decodeStrict(t *testing.T, text string) (Config, error) {
	t.Helper()
	var c Config
	dec := toml.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	return c, dec.Decode(&c)
}

func TestConfigTOML(t *testing.T) {
	c, err := decodeStrict(t, fullTOML)
	if err != nil {
		t.Fatal(err)
	}
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	h := c.Carrier.HTTP
	if c.Label.DPI != 300 || c.Carrier.Rates.Bands[1].Prices["2"] != "20.00" || time.Duration(h.Timeout) != 20*time.Second ||
		time.Duration(h.Backoff) != 250*time.Millisecond || h.Headers["X-Tenant"] != "t1" || !c.Flow.AutoArmNext || c.ShipFrom.Zip != "94041" {
		t.Errorf("decoded %+v", c)
	}
	r := c.Redacted()
	if r.Carrier.HTTP.Authorization != "(set)" || r.Carrier.HTTP.Headers["X-Tenant"] != "(set)" || c.Carrier.HTTP.Headers["X-Tenant"] != "t1" {
		t.Errorf("redacted %+v (original must stay intact)", r.Carrier.HTTP)
	}
	var out bytes.Buffer
	if err := toml.NewEncoder(&out).Encode(c); err != nil {
		t.Fatal(err)
	}
	back, err := decodeStrict(t, out.String())
	if err != nil || back.Carrier.Rates.Bands[0].UpTo != "1lb" || back.Carrier.HTTP.Timeout != h.Timeout {
		t.Errorf("round trip: %v\n%s", err, out.String())
	}
	if _, err := decodeStrict(t, "[carrier]\nkindd = \"local\"\n"); err == nil {
		t.Error("unknown key accepted")
	}
}

func TestConfigZeroIsTheEmbeddedDefault(t *testing.T) {
	c := Config{}.WithDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Label.Size != "4x6" || c.Label.DPI != 203 || c.Label.Format != FormatNative || c.Carrier.Kind != CarrierLocal ||
		c.Carrier.Scheme != SchemeSSCC || c.ShipFrom.Name == "" {
		t.Errorf("defaults %+v", c)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		key  string
	}{
		{"size", func(c *Config) { c.Label.Size = "4by6" }, "label.size"},
		{"dpi", func(c *Config) { c.Label.DPI = 250 }, "label.dpi"},
		{"format", func(c *Config) { c.Label.Format = "pdf" }, "label.format"},
		{"weight unit", func(c *Config) { c.Label.WeightUnit = "stone" }, "label.weight_unit"},
		{"kind", func(c *Config) { c.Carrier.Kind = "ups" }, "carrier.kind"},
		{"currency", func(c *Config) { c.Carrier.Currency = "usd" }, "carrier.currency"},
		{"tracking url", func(c *Config) { c.Carrier.TrackingURL = "https://t.example/x" }, "carrier.tracking_url"},
		{"gs1 prefix", func(c *Config) { c.Carrier.GS1Prefix = "12345" }, "carrier.gs1_prefix"},
		{"extension", func(c *Config) { c.Carrier.Extension = 12 }, "carrier.extension"},
		{"scheme", func(c *Config) { c.Carrier.Scheme = "random" }, "carrier.scheme"},
		{"prefix", func(c *Config) { c.Carrier.Scheme, c.Carrier.Prefix = SchemeSequence, "P B" }, "carrier.prefix"},
		{"check", func(c *Config) { c.Carrier.Scheme, c.Carrier.Prefix, c.Carrier.Check = SchemeSequence, "PB", "luhn" }, "carrier.check"},
		{"band weight", func(c *Config) {
			c.Carrier.Rates = RateTable{DefaultZone: "1", Bands: []RateBand{{UpTo: "heavy", Prices: map[string]string{"1": "1"}}}}
		}, "carrier.rates.bands[0].up_to"},
		{"band price", func(c *Config) {
			c.Carrier.Rates = RateTable{DefaultZone: "1", Bands: []RateBand{{UpTo: "1kg", Prices: map[string]string{"1": "1.999"}}}}
		}, "carrier.rates.bands[0].prices.1"},
		{"default zone", func(c *Config) {
			c.Carrier.Rates = RateTable{Bands: []RateBand{{UpTo: "1kg", Prices: map[string]string{"1": "1"}}}}
		}, "carrier.rates.default_zone"},
		{"zone country", func(c *Config) {
			c.Carrier.Rates = RateTable{Zones: []ZoneRule{{Zone: "2", Countries: []string{"USA"}}}}
		}, "carrier.rates.zones[0].countries[0]"},
		{"http url", func(c *Config) { c.Carrier.Kind = CarrierHTTP }, "carrier.http.url"},
		{"http label type", func(c *Config) {
			c.Carrier.Kind, c.Carrier.HTTP.URL, c.Carrier.HTTP.LabelType = CarrierHTTP, "http://127.0.0.1/label", "PDF"
		}, "carrier.http.label_type"},
		{"http header", func(c *Config) {
			c.Carrier.Kind, c.Carrier.HTTP.URL, c.Carrier.HTTP.Headers = CarrierHTTP, "http://127.0.0.1/label", map[string]string{"Bad Name": "x"}
		}, "carrier.http.headers"},
		{"ship from", func(c *Config) { c.ShipFrom = Address{Name: "X"} }, "ship_from.street1"},
	}
	for _, tt := range tests {
		c := Config{}
		tt.mod(&c)
		err := c.WithDefaults().Validate()
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.key+":") {
			t.Errorf("%s: err = %v, want ErrConfig naming %s", tt.name, err, tt.key)
		}
	}
}

func TestNewRefusesUnknownFlowPrinter(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	_, err := New(db, &Options{Config: Config{Flow: FlowConfig{Printer: "zebra"}}, Printers: []string{"bench"}})
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "flow.printer") {
		t.Errorf("err = %v", err)
	}
	_, err = New(db, &Options{})
	if !errors.Is(err, ErrConfig) {
		t.Errorf("no printer: err = %v", err)
	}
}
