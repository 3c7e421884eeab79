package main

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/internal/datadir"
	"github.com/packbench/packbench/internal/duration"
	"github.com/packbench/packbench/internal/textcheck"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/station"
	"github.com/packbench/packbench/uplink"
)

// Config is the daemon's whole configuration: the TOML file (or the
// embedded default), then PACKBENCH_* variables, then flags.
type Config struct {
	Bench    BenchConfig            `toml:"bench" json:"bench"`
	API      APIConfig              `toml:"api" json:"api"`
	Printers []device.PrinterConfig `toml:"printer" json:"printers"`
	Scale    scale.Config           `toml:"scale" json:"scale"`
	// GPIO is the button, status LED and buzzer; off while no pin is named.
	GPIO device.GPIOConfig `toml:"gpio" json:"gpio"`
	// Scanners are barcode scanners read directly (keyboard-mode USB
	// through Linux input, or serial); scans arm orders.
	Scanners []device.ScannerConfig `toml:"scanners" json:"scanners"`
	station.Config
	// MQTT is the cloud link; off while its url is empty.
	MQTT uplink.Config `toml:"mqtt" json:"mqtt"`
	// Retention and Disk bound what the bench keeps on its disk.
	Retention RetentionConfig `toml:"retention" json:"retention"`
	Disk      DiskConfig      `toml:"disk" json:"disk"`
	// Raw9100 is the network-printer port; off while its listen is empty.
	Raw9100 Raw9100Config `toml:"raw9100" json:"raw9100"`
	// MDNS announces the bench on the LAN (on in the embedded default).
	MDNS uplink.MDNSConfig `toml:"mdns" json:"mdns"`
	// Firmware is the self-update (package firmware).
	Firmware FirmwareConfig `toml:"firmware" json:"firmware"`
}

// BenchConfig is [bench].
type BenchConfig struct {
	Name     string `toml:"name" json:"name"`           // shown in the API and on the page; default: host name
	DeviceID string `toml:"device_id" json:"device_id"` // stable id for the cloud; default: name
	DataDir  string `toml:"data_dir" json:"data_dir"`   // default: $STATE_DIRECTORY, $XDG_STATE_HOME/packbench, ~/.local/state/packbench
	LogLevel string `toml:"log_level" json:"log_level"` // debug | info | warn | error; default info
}

// APIConfig is [api].
type APIConfig struct {
	Listen string `toml:"listen" json:"listen"` // host:port; default localhost:8080
	// Key is the API key; empty means PACKBENCH_API_KEY, else a key
	// generated into <data-dir>/api-key on first start.
	Key string `toml:"key" json:"-"`
	// Hosts are more names the API answers to (a DNS name, a proxy's
	// name) besides localhost, loopback, the listen host, the host name,
	// <host name>.local and the bench's interface addresses; any other
	// Host header gets 421 (DNS rebinding).
	Hosts []string `toml:"hosts" json:"hosts"`
	// CORSOrigins are the browser origins whose pages may call the API
	// ("https://wms.example.com"); none by default.
	CORSOrigins []string `toml:"cors_origins" json:"cors_origins"`
	// A print job's url (POST /api/v1/print): fetched within this time
	// (default 10s) and this size (default 4 MiB).
	PrintURLTimeout  duration.Duration `toml:"print_url_timeout" json:"print_url_timeout"`
	PrintURLMaxBytes int64             `toml:"print_url_max_bytes" json:"print_url_max_bytes"`
	// TrustLoopback lets a browser on the bench itself (loopback) use the
	// packer's routes with no key or kiosk token; off by default.
	TrustLoopback bool `toml:"trust_loopback" json:"trust_loopback"`
	// Limits; zero means the default (see packbench.example.toml).
	MaxConnections int               `toml:"max_connections" json:"max_connections"`   // 128, and at most the file limit less a reserve
	MaxStreams     int               `toml:"max_streams" json:"max_streams"`           // 16 event streams
	MaxBody        int64             `toml:"max_body" json:"max_body"`                 // 1 MiB request bodies
	MaxHeaderBytes int               `toml:"max_header_bytes" json:"max_header_bytes"` // 64 KiB
	ReadTimeout    duration.Duration `toml:"read_timeout" json:"read_timeout"`         // 1m for a request with its body
	WriteTimeout   duration.Duration `toml:"write_timeout" json:"write_timeout"`       // 30s per answer (per event on a stream)
	IdleTimeout    duration.Duration `toml:"idle_timeout" json:"idle_timeout"`         // 2m between keep-alive requests
}

// Defaults of [api]'s limits.
const (
	defaultMaxConns     = 128
	defaultMaxStreams   = 16
	defaultMaxBody      = 1 << 20
	defaultMaxHeader    = 64 << 10
	defaultReadTimeout  = time.Minute
	defaultWriteTimeout = 30 * time.Second
	defaultIdleTimeout  = 2 * time.Minute
)

// finishLimits fills [api]'s zero limits with the defaults.
func (a *APIConfig) finishLimits() {
	setDefault(&a.MaxConnections, defaultMaxConns)
	setDefault(&a.MaxStreams, defaultMaxStreams)
	setDefault(&a.MaxBody, defaultMaxBody)
	setDefault(&a.MaxHeaderBytes, defaultMaxHeader)
	setDefault(&a.ReadTimeout, duration.Duration(defaultReadTimeout))
	setDefault(&a.WriteTimeout, duration.Duration(defaultWriteTimeout))
	setDefault(&a.IdleTimeout, duration.Duration(defaultIdleTimeout))
	setDefault(&a.PrintURLTimeout, duration.Duration(api.DefaultPrintURLTimeout))
	setDefault(&a.PrintURLMaxBytes, queue.DefaultMaxPayload)
}

func setDefault[T int | int64 | duration.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// Defaults not owned by a package.
const (
	defaultListen      = "localhost:8080"
	defaultPrinterName = "default"
	minKeyLen          = api.MinKeyLen
)

// defaultConfig is the embedded default: simulated scale, one spool
// printer, API on localhost:8080, local carrier, MQTT off.
//
//go:embed default.toml
var defaultConfig []byte

// envOverride is one PACKBENCH_* variable and what it sets.
type envOverride struct {
	name, help string
	apply      func(c *Config, v string) error
}

// envOverrides are the variables applied over the file, documented in
// --help and docs; flags are applied after them.
func envOverrides() []envOverride {
	return append([]envOverride{
		{"PACKBENCH_DATA_DIR", "[bench] data_dir", func(c *Config, v string) error { c.Bench.DataDir = v; return nil }},
		{"PACKBENCH_NAME", "[bench] name", func(c *Config, v string) error { c.Bench.Name = v; return nil }},
		{"PACKBENCH_DEVICE_ID", "[bench] device_id", func(c *Config, v string) error { c.Bench.DeviceID = v; return nil }},
		{"PACKBENCH_LOG_LEVEL", "[bench] log_level", func(c *Config, v string) error { c.Bench.LogLevel = v; return nil }},
		{"PACKBENCH_LISTEN", "[api] listen", func(c *Config, v string) error { c.API.Listen = v; return nil }},
		{"PACKBENCH_API_KEY", "[api] key", func(c *Config, v string) error { c.API.Key = v; return nil }},
		{"PACKBENCH_SCALE_DRIVER", "[scale] driver", func(c *Config, v string) error { c.Scale.Driver = v; return nil }},
		{"PACKBENCH_SCALE_DEVICE", "[scale] device", func(c *Config, v string) error { c.Scale.Device = v; return nil }},
		{"PACKBENCH_PRINTER", "replaces every [[printer]] with one: spool, spool:DIR, tcp://HOST:PORT, usb:///dev/usb/lp0, serial:///dev/ttyUSB0", applyPrinterURL},
		{"PACKBENCH_MDNS", "[mdns] enabled: true or false", applyMDNSEnv},
		mqttEnv("PACKBENCH_MQTT_URL", "[mqtt] url: mqtt://HOST:1883 or mqtts://HOST:8883 (turns MQTT on)"),
		mqttEnv("PACKBENCH_MQTT_USERNAME", "[mqtt] username"),
		mqttEnv("PACKBENCH_MQTT_PASSWORD", "[mqtt] password"),
		raw9100Env,
		{"PACKBENCH_FIRMWARE_KEY", "[firmware] key", func(c *Config, v string) error { c.Firmware.Key = v; return nil }},
		{"PACKBENCH_FIRMWARE_WINDOW", "[firmware] window", func(c *Config, v string) error {
			return c.Firmware.Window.UnmarshalText([]byte(v))
		}},
	}, append(stationEnvOverrides(), scannerEnvOverrides()...)...)
}

// mqttEnv is one of uplink's variables, applied by uplink.Config.ApplyEnv
// so the names live in one place.
func mqttEnv(name, help string) envOverride {
	return envOverride{name, help, func(c *Config, v string) error {
		c.MQTT.ApplyEnv(func(k string) string {
			if k == name {
				return v
			}
			return ""
		})
		return nil
	}}
}

// applyPrinterURL replaces the printers with the one PACKBENCH_PRINTER names.
func applyPrinterURL(c *Config, v string) error {
	p := device.PrinterConfig{Name: defaultPrinterName}
	switch {
	case v == "spool":
		p.Transport = device.TransportSpool
	case strings.HasPrefix(v, "spool:"):
		p.Transport, p.Path = device.TransportSpool, strings.TrimPrefix(v, "spool:")
	default:
		u, err := url.Parse(v)
		if err != nil || u.Scheme == "" {
			return fmt.Errorf("want spool, spool:DIR, tcp://HOST:PORT, usb:///dev/usb/lpN or serial:///dev/ttyUSB0, got %q", v)
		}
		switch u.Scheme {
		case device.TransportTCP:
			p.Transport, p.Address = device.TransportTCP, u.Host
		case device.TransportUSB, device.TransportSerial:
			p.Transport, p.Device = u.Scheme, u.Path
		default:
			return fmt.Errorf("scheme %q: want tcp, usb, serial or spool", u.Scheme)
		}
	}
	c.Printers = []device.PrinterConfig{p}
	return nil
}

// loadConfig decodes the file (or the embedded default when path is
// empty) strictly, then applies the environment.
func loadConfig(path string, getenv func(string) string) (Config, error) {
	data, name := defaultConfig, "(embedded default)"
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		data, name = b, path
	}
	cfg, err := decodeConfig(name, data)
	if err != nil {
		return Config{}, err
	}
	for _, e := range envOverrides() {
		if v := getenv(e.name); v != "" {
			if err := e.apply(&cfg, v); err != nil {
				return Config{}, fmt.Errorf("%s: %w", e.name, err)
			}
		}
	}
	return cfg, nil
}

// decodeConfig decodes TOML refusing unknown keys; errors carry
// FILE:LINE:COL.
func decodeConfig(name string, data []byte) (Config, error) {
	var cfg Config
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(&cfg)
	var strict *toml.StrictMissingError
	var de *toml.DecodeError
	switch {
	case errors.As(err, &strict):
		msgs := make([]string, 0, len(strict.Errors))
		for i := range strict.Errors {
			e := &strict.Errors[i]
			row, col := e.Position()
			msgs = append(msgs, fmt.Sprintf("config %s:%d:%d: unknown key %s", name, row, col, strings.Join(e.Key(), ".")))
		}
		return Config{}, errors.New(strings.Join(msgs, "\n"))
	case errors.As(err, &de):
		row, col := de.Position()
		if msg, ok := typeErrorWords(de, data); ok {
			return Config{}, fmt.Errorf("config %s:%d:%d: %s", name, row, col, msg)
		}
		return Config{}, fmt.Errorf("config %s:%d:%d: %s", name, row, col, strings.TrimPrefix(de.Error(), "toml: "))
	case err != nil:
		return Config{}, fmt.Errorf("config %s: %w", name, err)
	}
	return cfg, nil
}

// flagValues are the flags that override the config; empty means unset.
type flagValues struct {
	dataDir, listen, logLevel string
}

// finish applies flags and defaults and validates everything, so a bad
// setting stops the daemon before anything is opened.
func (c *Config) finish(f flagValues, getenv func(string) string, home func() (string, error), hostname func() (string, error)) error {
	if f.dataDir != "" {
		c.Bench.DataDir = f.dataDir
	}
	if f.listen != "" {
		c.API.Listen = f.listen
	}
	if f.logLevel != "" {
		c.Bench.LogLevel = f.logLevel
	}
	if c.Bench.DataDir == "" {
		d, err := datadir.Default(getenv, home)
		if err != nil {
			return err
		}
		c.Bench.DataDir = d
	}
	abs, err := filepath.Abs(c.Bench.DataDir)
	if err != nil {
		return fmt.Errorf("config: bench.data_dir %q: %w", c.Bench.DataDir, err)
	}
	c.Bench.DataDir = abs
	if c.Bench.Name == "" {
		h, err := hostname()
		if err != nil || h == "" {
			h = "packbench"
		}
		c.Bench.Name = h
	}
	if err := c.finishMQTT(); err != nil {
		return err
	}
	if c.Bench.DeviceID == "" {
		c.Bench.DeviceID = c.Bench.Name
	}
	if c.API.Listen == "" {
		c.API.Listen = defaultListen
	}
	c.API.finishLimits()
	c.Raw9100.finishLimits()
	return c.validate()
}

func (c *Config) validate() error {
	if _, err := parseLevel(c.Bench.LogLevel); err != nil {
		return fmt.Errorf("config: bench.log_level: %w", err)
	}
	if _, _, err := net.SplitHostPort(c.API.Listen); err != nil {
		return fmt.Errorf("config: api.listen %q: want host:port (e.g. localhost:8080): %v", c.API.Listen, err)
	}
	if c.API.Key != "" && len(c.API.Key) < minKeyLen {
		return fmt.Errorf("config: api.key (or PACKBENCH_API_KEY): at least %d characters, got %d", minKeyLen, len(c.API.Key))
	}
	if strings.ContainsAny(c.API.Key, " \t\r\n") {
		return errors.New("config: api.key (or PACKBENCH_API_KEY): must not contain spaces or line breaks")
	}
	for _, l := range []struct {
		name string
		v    int64
	}{{"max_connections", int64(c.API.MaxConnections)}, {"max_streams", int64(c.API.MaxStreams)},
		{"max_body", c.API.MaxBody}, {"max_header_bytes", int64(c.API.MaxHeaderBytes)},
		{"print_url_timeout", int64(c.API.PrintURLTimeout)}, {"print_url_max_bytes", c.API.PrintURLMaxBytes}} {
		if l.v < 0 {
			return fmt.Errorf("config: api.%s: must be positive (0 means the default), got %d", l.name, l.v)
		}
	}
	if c.API.MaxStreams >= c.API.MaxConnections {
		return fmt.Errorf("config: api.max_streams (%d): must be below api.max_connections (%d), or streams leave no room for requests", c.API.MaxStreams, c.API.MaxConnections)
	}
	if c.API.PrintURLMaxBytes > queue.DefaultMaxPayload {
		return fmt.Errorf("config: api.print_url_max_bytes: at most %d (a job's payload), got %d", queue.DefaultMaxPayload, c.API.PrintURLMaxBytes)
	}
	for i, o := range c.API.CORSOrigins {
		if err := api.ValidOrigin(o); err != nil {
			return fmt.Errorf("config: api.cors_origins[%d] %w", i, err)
		}
	}
	for i, h := range c.API.Hosts {
		if h == "" || strings.ContainsAny(h, " /?#@") {
			return fmt.Errorf("config: api.hosts[%d] %q: want a host name or address without port or path", i, h)
		}
	}
	if err := c.GPIO.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if len(c.Printers) == 0 {
		return errors.New("config: [[printer]]: at least one printer is needed (the default is transport = \"spool\")")
	}
	seen := map[string]bool{}
	for i := range c.Printers {
		p := &c.Printers[i]
		if p.Transport == device.TransportSpool && p.Path == "" {
			p.Path = filepath.Join(c.Bench.DataDir, datadir.SpoolDir)
		}
		if err := p.Validate(); err != nil {
			return fmt.Errorf("config: printer[%d]: %w", i, err)
		}
		// The name is a job's printer and a URL path segment: an id.
		if err := textcheck.ID(p.Name, queue.MaxPrinterLen); err != nil {
			return fmt.Errorf("config: printer[%d]: name %q: %w", i, p.Name, err)
		}
		if seen[p.Name] {
			return fmt.Errorf("config: printer[%d]: name %q: used by another printer; names must be unique", i, p.Name)
		}
		seen[p.Name] = true
	}
	if err := c.validateScanners(); err != nil {
		return err
	}
	if err := c.Retention.validate(); err != nil {
		return err
	}
	if err := c.Disk.validate(); err != nil {
		return err
	}
	if err := c.Raw9100.validate(c.Printers); err != nil {
		return err
	}
	if err := c.MDNS.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if _, err := scale.NewOpener(c.Scale, nil); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if _, err := scale.NewFilter(&c.Scale.Filter); err != nil {
		return fmt.Errorf("config: scale.filter: %w", err)
	}
	return c.validateStation()
}

// parseLevel reads a log level name; empty is info.
func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if s == "" {
		return slog.LevelInfo, nil
	}
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%q: want debug, info, warn or error", s)
	}
	return l, nil
}
