package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/internal/datadir"
	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/uplink"
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
	if cfg.Packrooster.DefaultWeight != "500g" || cfg.Packrooster.PublicURL != "https://bench1.example.com" {
		t.Errorf("example [packrooster] not decoded: %+v", cfg.Packrooster)
	}
	if !slices.Equal(cfg.ZPL.Allow, []string{"^LS", "^MM", "^MD"}) {
		t.Errorf("example [zpl] not decoded: %+v", cfg.ZPL)
	}
	if g := cfg.GPIO; g.Button != "GPIO17" || g.LED != "GPIO27" || g.Buzzer != "GPIO22" || g.ButtonActiveLow == nil || !*g.ButtonActiveLow ||
		time.Duration(g.LongPress) != time.Second || cfg.Commands.TestPrint != "PB-CMD-TEST-PRINT" {
		t.Errorf("example [gpio] or [commands] not decoded: %+v %+v", g, cfg.Commands)
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

	// The commented [mqtt] section: every key in it is a real key.
	_, section, ok := strings.Cut(string(example), "\n# [mqtt]\n")
	if !ok {
		t.Fatal("packbench.example.toml has no commented [mqtt] section")
	}
	keys := regexp.MustCompile(`(?m)^# ([a-z_]+ = .*)$`).FindAllStringSubmatch(section, -1)
	if len(keys) < 14 {
		t.Fatalf("the [mqtt] example shows %d keys, want all 14", len(keys))
	}
	doc := "[mqtt]\n"
	for _, k := range keys {
		doc += k[1] + "\n"
	}
	mc, err := decodeConfig("example [mqtt]", []byte(doc))
	if err != nil {
		t.Fatalf("uncommented [mqtt] example: %v\n%s", err, doc)
	}
	if mc.MQTT.URL == "" || mc.MQTT.CAFile == "" || mc.MQTT.PoolSite == "" {
		t.Errorf("[mqtt] example not decoded: %+v", mc.MQTT)
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
		{"bad duration", "[[printer]]\nname = \"p\"\ntransport = \"spool\"\nstatus_timeout = \"2 parsecs\"\n", nil, ":4:18: invalid duration \"2 parsecs\""},
		{"mqtt unknown key", minimalTOML + "[mqtt]\nbroker = \"tcp://x\"\n", nil, ":8:1: unknown key mqtt.broker"},
		{"mqtt without url", minimalTOML + "[mqtt]\ndevice_id = \"b1\"\n", nil, "mqtt.url: required when [mqtt] sets anything"},
		{"mqtt bad url", minimalTOML + "[mqtt]\nurl = \"http://x\"\n", nil, "mqtt.url: scheme \"http\""},
		{"mqtt credentials in url", minimalTOML, map[string]string{"PACKBENCH_MQTT_URL": "mqtt://u:p@x"}, "mqtt.url: must not carry credentials"},
		{"mqtt bad device id", minimalTOML + "[mqtt]\nurl = \"mqtt://x\"\ndevice_id = \"a/b\"\n", nil, "mqtt.device_id"},
		{"mqtt missing ca", minimalTOML + "[mqtt]\nurl = \"mqtts://x\"\nca_file = \"/nonexistent/ca.pem\"\n", nil, "mqtt.ca_file"},
		{"mqtt password alone", minimalTOML, map[string]string{"PACKBENCH_MQTT_URL": "mqtt://x", "PACKBENCH_MQTT_PASSWORD": "pw"}, "mqtt.username"},
		{"mqtt wrong type", minimalTOML + "[mqtt]\nurl = \"mqtt://x\"\nkeepalive = 30\n", nil, "mqtt.keepalive: 30ns: must be between 1s and 18h"},
		{"bad scale driver", "[[printer]]\nname = \"p\"\ntransport = \"spool\"\n[scale]\ndriver = \"acme\"\n", nil, "scale"},
		{"bad listen", minimalTOML + "[api]\nlisten = \"8080\"\n", nil, "api.listen \"8080\""},
		{"short key", minimalTOML, map[string]string{"PACKBENCH_API_KEY": "short"}, "api.key (or PACKBENCH_API_KEY): at least 32"},
		{"negative max_body", minimalTOML + "[api]\nmax_body = -1\n", nil, "api.max_body: must be positive"},
		{"streams fill the connections", minimalTOML + "[api]\nmax_connections = 8\nmax_streams = 8\n", nil, "api.max_streams (8): must be below api.max_connections (8)"},
		{"host with a path", minimalTOML + "[api]\nhosts = [\"bench.example/x\"]\n", nil, "api.hosts[0] \"bench.example/x\""},
		{"bad write_timeout", minimalTOML + "[api]\nwrite_timeout = \"soon\"\n", nil, "write_timeout"},
		{"31-character key", minimalTOML, map[string]string{"PACKBENCH_API_KEY": "0123456789abcdef0123456789abcde"}, "api.key (or PACKBENCH_API_KEY): at least 32 characters, got 31"},
		{"duplicate printer", minimalTOML + "[[printer]]\nname = \"p\"\ntransport = \"spool\"\n", nil, `name "p": used by another printer`},
		{"tcp without address", "[[printer]]\nname = \"z\"\ntransport = \"tcp\"\n", nil, "address"},
		{"no printer", "[scale]\ndriver = \"sim\"\n", nil, "[[printer]]"},
		{"bad carrier", minimalTOML + "[carrier]\nkind = \"ups\"\n", nil, "carrier.kind"},
		{"bad label format", minimalTOML + "[label]\nformat = \"pdf\"\n", nil, "label.format"},
		{"flow printer", minimalTOML + "[flow]\nprinter = \"nope\"\n", nil, `flow.printer "nope"`},
		{"log level", minimalTOML + "[bench]\nlog_level = \"loud\"\n", nil, "bench.log_level"},
		{"env printer", minimalTOML, map[string]string{"PACKBENCH_PRINTER": "ftp://x"}, "PACKBENCH_PRINTER: scheme \"ftp\""},
		{"env auto arm", minimalTOML, map[string]string{"PACKBENCH_AUTO_ARM": "maybe"}, "PACKBENCH_AUTO_ARM"},
		{"zpl allow prefix change", minimalTOML + "[zpl]\nallow = [\"^LS\", \"^CC\"]\n", nil, `zpl: allow[1]: "^CC": changes the command prefix`},
		{"zpl allow family", minimalTOML + "[zpl]\nallow = [\"^J*\"]\n", nil, `zpl: allow[0]: "^J*"`},
		{"zpl allow label command", minimalTOML + "[zpl]\nallow = [\"^FO\"]\n", nil, `zpl: allow[0]: "^FO": draws a label`},
		{"zpl unknown key", minimalTOML + "[zpl]\nalow = [\"^LS\"]\n", nil, "unknown key zpl.alow"},
		{"gpio pin twice", minimalTOML + "[gpio]\nled = \"GPIO27\"\nbuzzer = \"GPIO27\"\n", nil, `gpio.buzzer: pin "GPIO27" is also gpio.led`},
		{"gpio unknown key", minimalTOML + "[gpio]\nbuzer = \"GPIO22\"\n", nil, "unknown key gpio.buzer"},
		{"gpio long press", minimalTOML + "[gpio]\nbutton = \"GPIO17\"\ndebounce = \"50ms\"\nlong_press = \"20ms\"\n", nil, "gpio.long_press"},
		{"command codes clash", minimalTOML + "[commands]\ntare = \"ZERO\"\nzero = \"zero\"\n", nil, `commands.zero: "zero" is also commands.tare`},
		{"command code unprintable", minimalTOML + "[commands]\nreprint = \"R\\tP\"\n", nil, "commands.reprint: want printable ASCII"},
		{"printer name with a slash", "[[printer]]\nname = \"a/b\"\ntransport = \"spool\"\n", nil, `printer[0]: name "a/b": must not contain "/"`},
		// Type errors in the operator's words: the setting's path, what it
		// wants, what the file has, the line; no Go struct names (issue 19).
		{"dpi with a unit", "[bench]\nname = \"b\"\n\n[[printer]]\nname = \"a\"\ntransport = \"spool\"\n[[printer]]\nname = \"z\"\ntransport = \"spool\"\ndpi = \"203dpi\" # the head\n", nil,
			`printers[1].dpi: want a number like 203, got "203dpi" (line 10)`},
		{"listen as a number", minimalTOML + "[api]\nlisten = 8080\n", nil, `api.listen: want text in quotes like "8080", got 8080 (line `},
		{"min weight as a bool", minimalTOML + "[scale.filter]\nmin_weight_mg = true\n", nil, `scale.filter.min_weight_mg: want a number like 10, got true (line `},
		{"printer name with a bidi override", "[[printer]]\nname = \"zebra\u202e\"\ntransport = \"spool\"\n", nil, `printer[0]: name "zebra\u202e": must not contain U+202E`},
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
	env["PACKBENCH_PRINTER"], env["PACKBENCH_API_KEY"] = "tcp://127.0.0.1:9100", "0123456789abcdef0123456789abcdef0123"
	env["PACKBENCH_LABEL_FORMAT"], env["PACKBENCH_LOG_LEVEL"] = "raster", "debug"
	c := load(flagValues{})
	if c.API.Listen != "127.0.0.1:2222" || c.Bench.DataDir != "/from/env" || c.Scale.Driver != "nci" || c.Scale.Device != "/dev/ttyS7" ||
		c.API.Key != "0123456789abcdef0123456789abcdef0123" || c.Label.Format != "raster" || c.Bench.LogLevel != "debug" {
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
		got, err := datadir.Default(envMap(tc.env), func() (string, error) { return "/home/u", nil })
		if err != nil || got != tc.want {
			t.Errorf("%v: %q %v, want %q", tc.env, got, err, tc.want)
		}
	}
	if _, err := datadir.Default(envMap(nil), noHome); err == nil || !strings.Contains(err.Error(), "--data-dir") {
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
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(key) || !strings.Contains(first.String(), key) {
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
	got, err := apiKey("provisioned-key-0123456789abcdef0123456789", other, &third)
	if err != nil || got != "provisioned-key-0123456789abcdef0123456789" || third.Len() != 0 {
		t.Fatalf("provisioned: %q %v %q", got, err, third.String())
	}
	if _, err := os.Stat(filepath.Join(other, "api-key")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a provisioned key must not create a key file: %v", err)
	}
	if err := os.WriteFile(filepath.Join(other, "api-key"), []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := apiKey("", other, &third); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Fatalf("short key file: %v", err)
	}
}

// TestMQTTConfig: [mqtt] decodes strictly into uplink.Config, the
// PACKBENCH_MQTT_* variables override it, the device id falls back to
// [bench] device_id, and the password never reaches the config view.
func TestMQTTConfig(t *testing.T) {
	p := writeConfig(t, minimalTOML+"[bench]\ndevice_id = \"bench-7\"\n[mqtt]\nurl = \"mqtt://file:1883\"\nkeepalive = \"20s\"\npool_site = \"hall-1\"\n")
	env := map[string]string{"PACKBENCH_MQTT_URL": "mqtt://127.0.0.1:1884", "PACKBENCH_MQTT_USERNAME": "bench", "PACKBENCH_MQTT_PASSWORD": "pw-secret-1"}
	cfg, err := loadConfig(p, envMap(env))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.finish(flagValues{dataDir: t.TempDir()}, envMap(env), noHome, host); err != nil {
		t.Fatal(err)
	}
	m := cfg.MQTT
	if m.URL != "mqtt://127.0.0.1:1884" || m.Username != "bench" || m.Password != "pw-secret-1" || m.DeviceID != "bench-7" ||
		m.PoolSite != "hall-1" || time.Duration(m.KeepAlive) != 20*time.Second || !m.Enabled() {
		t.Fatalf("mqtt %+v", m)
	}
	b, err := json.Marshal(cfg.view())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "pw-secret-1") || !strings.Contains(string(b), `"url":"mqtt://127.0.0.1:1884"`) {
		t.Fatalf("config view: %s", b)
	}

	// mqtt.device_id wins over [bench]; no [mqtt] at all is MQTT off.
	p = writeConfig(t, minimalTOML+"[mqtt]\nurl = \"mqtt://x\"\ndevice_id = \"own-id\"\n[bench]\ndevice_id = \"bench-7\"\n")
	cfg, err = loadConfig(p, envMap(nil))
	if err == nil {
		err = cfg.finish(flagValues{dataDir: t.TempDir()}, envMap(nil), noHome, host)
	}
	if err != nil || cfg.MQTT.DeviceID != "own-id" {
		t.Fatalf("device id %q (%v), want own-id", cfg.MQTT.DeviceID, err)
	}
	// TLS files are read at start: a CA file without a certificate stops
	// the daemon with the key named.
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = loadConfig(writeConfig(t, minimalTOML+fmt.Sprintf("[mqtt]\nurl = \"mqtts://x\"\ndevice_id = \"b\"\nca_file = %q\n", notPEM)), envMap(nil))
	if err == nil {
		err = cfg.finish(flagValues{dataDir: t.TempDir()}, envMap(nil), noHome, host)
	}
	if err == nil || !strings.Contains(err.Error(), "mqtt.ca_file: "+notPEM+": no PEM certificate") {
		t.Fatalf("CA file without a certificate: %v", err)
	}
	cfg, err = loadConfig(writeConfig(t, minimalTOML), envMap(nil))
	if err == nil {
		err = cfg.finish(flagValues{dataDir: t.TempDir()}, envMap(nil), noHome, host)
	}
	if err != nil || cfg.MQTT.Enabled() {
		t.Fatalf("no [mqtt]: enabled %v (%v), want off", cfg.MQTT.Enabled(), err)
	}
}

// TestMDNSConfig: [mdns] is on in the embedded default, PACKBENCH_MDNS
// turns it off, a bad host is refused, and the API accepts the names the
// announcement sends browsers to.
func TestMDNSConfig(t *testing.T) {
	cfg, err := loadConfig("", envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.MDNS.Enabled {
		t.Fatal("[mdns] is off in the embedded default")
	}
	cfg, err = loadConfig("", envMap(map[string]string{"PACKBENCH_MDNS": "false"}))
	if err != nil || cfg.MDNS.Enabled {
		t.Fatalf("PACKBENCH_MDNS=false: %v %+v", err, cfg.MDNS)
	}
	if _, err := loadConfig("", envMap(map[string]string{"PACKBENCH_MDNS": "maybe"})); err == nil {
		t.Fatal("PACKBENCH_MDNS=maybe accepted")
	}
	cfg, err = loadConfig(writeConfig(t, minimalTOML+"[mdns]\nenabled = true\nhost = \"Bench 1\"\n"), envMap(nil))
	if err == nil {
		err = cfg.finish(flagValues{dataDir: t.TempDir()}, envMap(nil), os.UserHomeDir, func() (string, error) { return "h", nil })
	}
	if err == nil || !strings.Contains(err.Error(), "mdns.host") {
		t.Fatalf("bad host: %v", err)
	}
	hosts := mdnsHosts(uplink.MDNSConfig{}, func() (string, error) { return "Bench_7.lan", nil })
	for _, want := range []string{"bench-7.local", "bench-7-2.local", "bench-7-9.local"} {
		if !slices.Contains(hosts, want) {
			t.Errorf("API hosts %v lack %s", hosts, want)
		}
	}
	if h := mdnsHosts(uplink.MDNSConfig{Host: "packer"}, nil); !slices.Contains(h, "packer.local") {
		t.Errorf("configured host: %v", h)
	}
}

// The config the .deb installs (systemd/packbench.toml) decodes, opens the
// page and API to the LAN and announces the bench there: a config file
// starts from zero, so what the embedded default turns on must be in it.
func TestShippedConfig(t *testing.T) {
	cfg, err := loadConfig(filepath.Join("..", "..", "systemd", "packbench.toml"), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.finish(flagValues{dataDir: t.TempDir()}, envMap(nil), noHome, host); err != nil {
		t.Fatal(err)
	}
	if !cfg.MDNS.Enabled || cfg.API.Listen != "0.0.0.0:8080" {
		t.Errorf("shipped config: mdns %+v, listen %q; want announced on 0.0.0.0:8080", cfg.MDNS, cfg.API.Listen)
	}
}
