package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/scale"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func noHome() (string, error) { return "", errors.New("no home in tests") }
func host() (string, error)   { return "testhost", nil }

func TestEmbeddedDefault(t *testing.T) {
	cfg, err := loadConfig("", envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := cfg.finish(flagValues{dataDir: dir}, envMap(nil), noHome, host); err != nil {
		t.Fatal(err)
	}
	if cfg.Scale.Driver != scale.DriverSim {
		t.Errorf("scale driver %q, want sim", cfg.Scale.Driver)
	}
	if len(cfg.Printers) != 1 || cfg.Printers[0].Transport != device.TransportSpool || cfg.Printers[0].Path != filepath.Join(dir, "spool") {
		t.Errorf("printers %+v, want one spool printer in %s/spool", cfg.Printers, dir)
	}
	if cfg.API.Listen != "localhost:8080" {
		t.Errorf("listen %q", cfg.API.Listen)
	}
	if cfg.Carrier.Kind != "local" || cfg.Carrier.Scheme != "sequence" {
		t.Errorf("carrier %q scheme %q, want local sequence", cfg.Carrier.Kind, cfg.Carrier.Scheme)
	}
	if cfg.Bench.Name != "testhost" || cfg.Bench.DeviceID != "testhost" || cfg.API.Key != "" {
		t.Errorf("bench %+v key %q", cfg.Bench, cfg.API.Key)
	}
}

// TestExampleConfig proves the shipped example decodes strictly (every key
// in it is a real key) and validates.
func TestExampleConfig(t *testing.T) {
	cfg, err := loadConfig("packbench.example.toml", envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.finish(flagValues{dataDir: t.TempDir()}, envMap(nil), noHome, host); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Printers) != 2 || cfg.Printers[0].Address != "192.168.1.50:9100" || cfg.Scale.Line.Parity != "even" {
		t.Errorf("example not decoded as written: %+v %+v", cfg.Printers, cfg.Scale)
	}
	if len(cfg.Carrier.Rates.Bands) != 2 || cfg.Carrier.HTTP.Retries != 3 || cfg.ShipFrom.Zip != "62701" {
		t.Errorf("example carrier not decoded: %+v", cfg.Carrier)
	}
	example, err := os.ReadFile("packbench.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range envOverrides() {
		if !strings.Contains(string(example), e.name) {
			t.Errorf("%s is not documented in packbench.example.toml", e.name)
		}
	}
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bench.toml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const minimalTOML = `
[[printer]]
name = "p"
transport = "spool"
[scale]
driver = "sim"
`

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, toml string
		env        map[string]string
		want       string
	}{
		{"unknown key", "[scale]\ndriver = \"sim\"\n  drvier = \"nci\"\n", nil, ":3:3: unknown key scale.drvier"},
		{"unknown section", minimalTOML + "[printr]\nname = \"x\"\n", nil, ":7:2: unknown key printr"},
		{"unknown printer key", "[[printer]]\nname = \"p\"\ntransport = \"spool\"\nadress = \"x\"\n", nil, ":4:1: unknown key printer.adress"},
		{"syntax", "[scale\n", nil, ":1:"},
		{"wrong type", "[api]\nlisten = 8080\n", nil, ":2:10: "},
		{"bad duration", "[[printer]]\nname = \"p\"\ntransport = \"spool\"\nstatus_timeout = \"2 parsecs\"\n", nil, ":4:18: device: invalid config: duration \"2 parsecs\""},
		{"mqtt", minimalTOML + "[mqtt]\nbroker = \"tcp://x\"\n", nil, "[mqtt]: not supported yet"},
		{"bad scale driver", "[[printer]]\nname = \"p\"\ntransport = \"spool\"\n[scale]\ndriver = \"acme\"\n", nil, "scale"},
		{"bad listen", minimalTOML + "[api]\nlisten = \"8080\"\n", nil, "api.listen \"8080\""},
		{"short key", minimalTOML, map[string]string{"PACKBENCH_API_KEY": "short"}, "api.key (or PACKBENCH_API_KEY): at least 16"},
		{"duplicate printer", minimalTOML + "[[printer]]\nname = \"p\"\ntransport = \"spool\"\n", nil, `name "p": used by another printer`},
		{"tcp without address", "[[printer]]\nname = \"z\"\ntransport = \"tcp\"\n", nil, "address"},
		{"no printer", "[scale]\ndriver = \"sim\"\n", nil, "[[printer]]"},
		{"bad carrier", minimalTOML + "[carrier]\nkind = \"ups\"\n", nil, "carrier.kind"},
		{"bad label format", minimalTOML + "[label]\nformat = \"pdf\"\n", nil, "label.format"},
		{"flow printer", minimalTOML + "[flow]\nprinter = \"nope\"\n", nil, `flow.printer "nope"`},
		{"log level", minimalTOML + "[bench]\nlog_level = \"loud\"\n", nil, "bench.log_level"},
		{"env printer", minimalTOML, map[string]string{"PACKBENCH_PRINTER": "ftp://x"}, "PACKBENCH_PRINTER: scheme \"ftp\""},
		{"env auto arm", minimalTOML, map[string]string{"PACKBENCH_AUTO_ARM": "maybe"}, "PACKBENCH_AUTO_ARM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, tc.toml)
			cfg, err := loadConfig(p, envMap(tc.env))
			if err == nil {
				err = cfg.finish(flagValues{dataDir: t.TempDir()}, envMap(tc.env), noHome, host)
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to contain %q", err, tc.want)
			}
			if strings.HasPrefix(tc.want, ":") && !strings.Contains(err.Error(), "config "+p+":") {
				t.Fatalf("error %q does not name the file", err)
			}
		})
	}
}

// TestPrecedence: flags over PACKBENCH_* over the file over defaults.
func TestPrecedence(t *testing.T) {
	p := writeConfig(t, minimalTOML+"[api]\nlisten = \"127.0.0.1:1111\"\n[bench]\ndata_dir = \"/from/file\"\n")
	env := map[string]string{}
	load := func(f flagValues) Config {
		t.Helper()
		cfg, err := loadConfig(p, envMap(env))
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.finish(f, envMap(env), noHome, host); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	if c := load(flagValues{}); c.API.Listen != "127.0.0.1:1111" || c.Bench.DataDir != "/from/file" {
		t.Errorf("file: %q %q", c.API.Listen, c.Bench.DataDir)
	}
	env["PACKBENCH_LISTEN"], env["PACKBENCH_DATA_DIR"] = "127.0.0.1:2222", "/from/env"
	env["PACKBENCH_SCALE_DRIVER"], env["PACKBENCH_SCALE_DEVICE"] = "nci", "/dev/ttyS7"
	env["PACKBENCH_PRINTER"], env["PACKBENCH_API_KEY"] = "tcp://127.0.0.1:9100", "0123456789abcdef0123"
	env["PACKBENCH_LABEL_FORMAT"], env["PACKBENCH_LOG_LEVEL"] = "raster", "debug"
	c := load(flagValues{})
	if c.API.Listen != "127.0.0.1:2222" || c.Bench.DataDir != "/from/env" || c.Scale.Driver != "nci" || c.Scale.Device != "/dev/ttyS7" ||
		c.API.Key != "0123456789abcdef0123" || c.Label.Format != "raster" || c.Bench.LogLevel != "debug" {
		t.Errorf("env: %+v %+v %+v %q", c.API, c.Bench, c.Scale, c.Label.Format)
	}
	if len(c.Printers) != 1 || c.Printers[0].Transport != "tcp" || c.Printers[0].Address != "127.0.0.1:9100" {
		t.Errorf("env printer: %+v", c.Printers)
	}
	c = load(flagValues{listen: "127.0.0.1:3333", dataDir: "/from/flag", logLevel: "warn"})
	if c.API.Listen != "127.0.0.1:3333" || c.Bench.DataDir != "/from/flag" || c.Bench.LogLevel != "warn" {
		t.Errorf("flags: %q %q %q", c.API.Listen, c.Bench.DataDir, c.Bench.LogLevel)
	}
}

func TestPrinterURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want device.PrinterConfig
	}{
		{"spool", device.PrinterConfig{Name: "default", Transport: "spool"}},
		{"spool:/tmp/x", device.PrinterConfig{Name: "default", Transport: "spool", Path: "/tmp/x"}},
		{"tcp://10.0.0.5:9100", device.PrinterConfig{Name: "default", Transport: "tcp", Address: "10.0.0.5:9100"}},
		{"usb:///dev/usb/lp0", device.PrinterConfig{Name: "default", Transport: "usb", Device: "/dev/usb/lp0"}},
		{"serial:///dev/ttyUSB0", device.PrinterConfig{Name: "default", Transport: "serial", Device: "/dev/ttyUSB0"}},
	} {
		var c Config
		if err := applyPrinterURL(&c, tc.in); err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if len(c.Printers) != 1 || c.Printers[0] != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.in, c.Printers, tc.want)
		}
	}
	for _, bad := range []string{"", "lpt1", "http://x"} {
		var c Config
		if err := applyPrinterURL(&c, bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestDataDirDefault(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"STATE_DIRECTORY": "/var/lib/packbench:/var/lib/other"}, "/var/lib/packbench"},
		{map[string]string{"XDG_STATE_HOME": "/x/state"}, "/x/state/packbench"},
		{map[string]string{"XDG_STATE_HOME": "relative"}, "/home/u/.local/state/packbench"},
	} {
		got, err := defaultDataDir(envMap(tc.env), func() (string, error) { return "/home/u", nil })
		if err != nil || got != tc.want {
			t.Errorf("%v: %q %v, want %q", tc.env, got, err, tc.want)
		}
	}
	if _, err := defaultDataDir(envMap(nil), noHome); err == nil || !strings.Contains(err.Error(), "--data-dir") {
		t.Errorf("no home: %v", err)
	}
}

func TestAPIKey(t *testing.T) {
	dir := t.TempDir()
	var first strings.Builder
	key, err := apiKey("", dir, &first)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) < 40 || !strings.Contains(first.String(), key) {
		t.Fatalf("generated key %q not printed: %q", key, first.String())
	}
	fi, err := os.Stat(filepath.Join(dir, "api-key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	var second strings.Builder
	again, err := apiKey("", dir, &second)
	if err != nil || again != key {
		t.Fatalf("second start: %q %v, want the same key", again, err)
	}
	if strings.Contains(second.String(), key) || !strings.Contains(second.String(), filepath.Join(dir, "api-key")) {
		t.Fatalf("second start printed %q: want the path, never the key", second.String())
	}
	other := t.TempDir()
	var third strings.Builder
	got, err := apiKey("provisioned-key-0123456789", other, &third)
	if err != nil || got != "provisioned-key-0123456789" || third.Len() != 0 {
		t.Fatalf("provisioned: %q %v %q", got, err, third.String())
	}
	if _, err := os.Stat(filepath.Join(other, "api-key")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a provisioned key must not create a key file: %v", err)
	}
	if err := os.WriteFile(filepath.Join(other, "api-key"), []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := apiKey("", other, &third); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Fatalf("short key file: %v", err)
	}
}
