package device

import (
	"reflect"
	"strings"
	"testing"
)

var deviceIDCases = []struct {
	name, in   string
	mfg, model string
	cmd        []string
	err        string
}{
	{name: "zebra short keys", in: "MFG:Zebra Technologies;CMD:ZPL;MDL:ZD420;CLS:PRINTER;DES:Zebra ZD420;",
		mfg: "Zebra Technologies", model: "ZD420", cmd: []string{"ZPL"}},
	{name: "long keys", in: "MANUFACTURER:Brother;COMMAND SET:PJL,PCL, ESC/P;MODEL:QL-820NWB;",
		mfg: "Brother", model: "QL-820NWB", cmd: []string{"PJL", "PCL", "ESC/P"}},
	{name: "lower-case keys and spaces", in: " mfg : Zebra ; mdl:GK420d ; cmd:EPL2,ZPL ",
		mfg: "Zebra", model: "GK420d", cmd: []string{"EPL2", "ZPL"}},
	{name: "length prefix", in: "\x00\x1eMFG:Zebra;MDL:ZT410;CMD:ZPL;",
		mfg: "Zebra", model: "ZT410", cmd: []string{"ZPL"}},
	{name: "trailing NUL and newline", in: "MFG:Zebra;MDL:ZD621;CMD:ZPL,CPCL;\x00\n",
		mfg: "Zebra", model: "ZD621", cmd: []string{"ZPL", "CPCL"}},
	{name: "no colon", in: "MFG:Zebra;garbage;", err: `field "garbage" has no ':'`},
	{name: "no maker or model", in: "CMD:ZPL;CLS:PRINTER;", err: "no MFG/MANUFACTURER or MDL/MODEL"},
	{name: "empty", in: "", err: "no MFG"},
}

func TestParseDeviceID(t *testing.T) {
	for _, tc := range deviceIDCases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseDeviceID(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Manufacturer != tc.mfg || d.Model != tc.model || !reflect.DeepEqual(d.CommandSet, tc.cmd) {
				t.Fatalf("got %q %q %q, want %q %q %q", d.Manufacturer, d.Model, d.CommandSet, tc.mfg, tc.model, tc.cmd)
			}
		})
	}
}

func FuzzParseDeviceID(f *testing.F) {
	for _, tc := range deviceIDCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDeviceID(s)
		if err != nil {
			return
		}
		if d.Manufacturer == "" && d.Model == "" {
			t.Fatalf("accepted id without maker or model: %q", s)
		}
	})
}

func TestDiscoverUSB(t *testing.T) {
	got, err := DiscoverUSB("testdata/sysfs")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("found %d printers, want 3 (hiddev0 is not one): %+v", len(got), got)
	}
	z := got[0]
	if z.Name != "lp0" || z.Device != "/dev/usb/lp0" || z.VID != "0a5f" || z.PID != "0164" || z.Serial != "D4J192301234" {
		t.Errorf("lp0 = %+v", z)
	}
	if z.ID.Manufacturer != "Zebra Technologies" || z.ID.Model != "ZD420" || !z.ID.Speaks("zpl") || z.ID.Speaks("PCL") {
		t.Errorf("lp0 id = %+v", z.ID)
	}
	b := got[1]
	if b.Name != "lp1" || b.ID.Manufacturer != "Brother" || b.ID.Model != "QL-820NWB" || !b.ID.Speaks("PCL") || b.ID.Speaks("ZPL") {
		t.Errorf("lp1 = %+v", b)
	}
	if n := got[2]; n.Name != "lp10" || n.IDError == "" || n.VID != "0a5f" || n.PID != "0181" {
		t.Errorf("lp10 (no ieee1284_id) = %+v", n)
	}

	p, err := FindUSBPrinter("testdata/sysfs", "ql-820")
	if err != nil || p.Name != "lp1" {
		t.Fatalf("FindUSBPrinter = %+v, %v", p, err)
	}
	if _, err := FindUSBPrinter("testdata/sysfs", "MDL:ZT610"); err == nil || !strings.Contains(err.Error(), "3 USB printers attached") {
		t.Fatalf("FindUSBPrinter(missing) err = %v", err)
	}
	none, err := DiscoverUSB(t.TempDir())
	if err != nil || len(none) != 0 {
		t.Fatalf("empty sysfs: %v, %v", none, err)
	}
}
