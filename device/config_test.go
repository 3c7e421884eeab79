package device

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"
)

func TestConfigTOML(t *testing.T) {
	const doc = `
[[printer]]
name = "zebra"
transport = "serial"
device = "/dev/ttyUSB0"
status_timeout = "1500ms"
dpi = 300
[printer.serial]
baud = 115200
data_bits = 7
parity = "even"
stop_bits = "2"
flow_control = "rtscts"
`
	var v struct {
		Printer []PrinterConfig `toml:"printer"`
	}
	if err := toml.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatal(err)
	}
	c := v.Printer[0]
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if time.Duration(c.StatusTimeout) != 1500*time.Millisecond || c.DPI != 300 || c.Serial.Baud != 115200 ||
		c.Serial.Parity != "even" || c.Serial.StopBits != "2" || c.Serial.FlowControl != "rtscts" || c.Serial.DataBits != 7 {
		t.Fatalf("decoded %+v", c)
	}
	m := serialMode(c.withDefaults().Serial)
	if m.BaudRate != 115200 || m.DataBits != 7 || m.Parity != 2 || m.StopBits != 2 {
		t.Fatalf("serial mode %+v", m)
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  PrinterConfig
		err  string
	}{
		{"ok tcp", PrinterConfig{Name: "p", Transport: "tcp", Address: "127.0.0.1"}, ""},
		{"ok spool", PrinterConfig{Name: "p", Transport: "spool", Path: "/tmp/x"}, ""},
		{"ok usb by match", PrinterConfig{Name: "p", Transport: "USB", Match: "MDL:ZD420"}, ""},
		{"no name", PrinterConfig{Transport: "tcp", Address: "x:1"}, "printer name"},
		{"bad transport", PrinterConfig{Name: "p", Transport: "lpd"}, `transport "lpd": must be usb, tcp, serial or spool`},
		{"tcp no address", PrinterConfig{Name: "p", Transport: "tcp"}, "address"},
		{"usb nothing", PrinterConfig{Name: "p", Transport: "usb"}, "or match (IEEE 1284"},
		{"serial no device", PrinterConfig{Name: "p", Transport: "serial"}, "device"},
		{"serial parity", PrinterConfig{Name: "p", Transport: "serial", Device: "/dev/ttyS0", Serial: SerialConfig{Parity: "weird"}}, `parity "weird"`},
		{"serial baud", PrinterConfig{Name: "p", Transport: "serial", Device: "/dev/ttyS0", Serial: SerialConfig{Baud: 10}}, "baud 10"},
		{"serial bits", PrinterConfig{Name: "p", Transport: "serial", Device: "/dev/ttyS0", Serial: SerialConfig{DataBits: 9}}, "data_bits 9"},
		{"serial stop", PrinterConfig{Name: "p", Transport: "serial", Device: "/dev/ttyS0", Serial: SerialConfig{StopBits: "3"}}, "stop_bits"},
		{"serial flow", PrinterConfig{Name: "p", Transport: "serial", Device: "/dev/ttyS0", Serial: SerialConfig{FlowControl: "dtr"}}, "flow_control"},
		{"spool no path", PrinterConfig{Name: "p", Transport: "spool"}, "path"},
		{"dpi", PrinterConfig{Name: "p", Transport: "spool", Path: "/x", DPI: 250}, "dpi 250"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want ErrConfig with %q", err, tc.err)
			}
			if _, oerr := Open(tc.cfg); oerr == nil {
				t.Fatal("Open accepted an invalid config")
			}
		})
	}
	var d Duration
	if err := d.UnmarshalText([]byte("soon")); err == nil || !strings.Contains(err.Error(), `invalid duration "soon"`) {
		t.Fatalf("bad duration err = %v", err)
	}
}
