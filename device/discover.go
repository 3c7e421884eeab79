package device

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Where Linux mounts sysfs and where udev puts usblp nodes.
const (
	DefaultSysfs  = "/sys"
	DefaultUSBDev = "/dev/usb"
)

// DeviceID is a parsed IEEE 1284 device id, the string a USB printer reports
// about itself ("MFG:Zebra Technologies;CMD:ZPL;MDL:ZD420;...").
type DeviceID struct {
	Manufacturer string   // MFG or MANUFACTURER
	Model        string   // MDL or MODEL
	CommandSet   []string // CMD or COMMAND SET, split at commas
	Description  string   // DES or DESCRIPTION
	Serial       string   // SN or SERN, when given
	Fields       map[string]string
	Raw          string
}

// Speaks reports whether the printer lists lang (e.g. "ZPL") in its command
// set, ignoring case.
func (d DeviceID) Speaks(lang string) bool {
	for _, c := range d.CommandSet {
		if strings.EqualFold(strings.TrimSpace(c), lang) {
			return true
		}
	}
	return false
}

// ParseDeviceID parses an IEEE 1284 device id. The kernel's ieee1284_id
// attribute has the two length bytes already stripped; when they are present
// (a raw GET_DEVICE_ID reply) they are skipped too. Keys are case-insensitive.
func ParseDeviceID(s string) (DeviceID, error) {
	if len(s) >= 2 && int(s[0])<<8|int(s[1]) == len(s) {
		s = s[2:] // big-endian length prefix, counting itself
	}
	s = strings.TrimRight(s, "\x00\r\n ")
	d := DeviceID{Raw: s, Fields: map[string]string{}}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, ":")
		if !ok {
			return DeviceID{}, fmt.Errorf("IEEE 1284 id: field %q has no ':'", part)
		}
		k = strings.ToUpper(strings.TrimSpace(k))
		v = strings.TrimSpace(v)
		d.Fields[k] = v
		switch k {
		case "MFG", "MANUFACTURER":
			d.Manufacturer = v
		case "MDL", "MODEL":
			d.Model = v
		case "CMD", "COMMAND SET":
			d.CommandSet = nil
			for _, c := range strings.Split(v, ",") {
				if c = strings.TrimSpace(c); c != "" {
					d.CommandSet = append(d.CommandSet, c)
				}
			}
		case "DES", "DESCRIPTION":
			d.Description = v
		case "SN", "SERN", "SERIALNUMBER":
			d.Serial = v
		}
	}
	if d.Manufacturer == "" && d.Model == "" {
		return DeviceID{}, fmt.Errorf("IEEE 1284 id %q: no MFG/MANUFACTURER or MDL/MODEL field", s)
	}
	return d, nil
}

// USBPrinter is one usblp node found in sysfs.
type USBPrinter struct {
	Device  string   // /dev/usb/lpN
	Name    string   // lpN
	ID      DeviceID // parsed IEEE 1284 id (zero when the printer gave none)
	IDError string   // why the id could not be read or parsed
	VID     string   // idVendor, hex
	PID     string   // idProduct, hex
	Serial  string   // iSerial string
}

// DiscoverUSB lists the USB printer class devices under sysfsRoot
// (normally /sys): every class/usbmisc/lpN with its IEEE 1284 id from the
// usblp interface and the ids of the USB device above it. Device is
// /dev/usb/lpN.
func DiscoverUSB(sysfsRoot string) ([]USBPrinter, error) {
	return discoverUSB(sysfsRoot, DefaultUSBDev)
}

func discoverUSB(sysfsRoot, devDir string) ([]USBPrinter, error) {
	dir := filepath.Join(sysfsRoot, "class", "usbmisc")
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // no usbmisc class: no USB printer (or usblp not loaded)
	}
	if err != nil {
		return nil, fmt.Errorf("discover USB printers: %w", err)
	}
	var out []USBPrinter
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, "lp") {
			continue
		}
		p := USBPrinter{Name: name, Device: filepath.Join(devDir, name)}
		iface := filepath.Join(dir, name, "device")
		if real, err := filepath.EvalSymlinks(iface); err == nil {
			iface = real
		}
		raw, err := os.ReadFile(filepath.Join(iface, "ieee1284_id"))
		if err != nil {
			p.IDError = err.Error()
		} else if p.ID, err = ParseDeviceID(string(raw)); err != nil {
			p.IDError = err.Error()
		}
		usbDev := filepath.Dir(iface) // the interface sits inside its USB device
		p.VID = readAttr(usbDev, "idVendor")
		p.PID = readAttr(usbDev, "idProduct")
		p.Serial = readAttr(usbDev, "serial")
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return naturalLess(out[i].Name, out[j].Name) })
	return out, nil
}

// FindUSBPrinter returns the first USB printer whose IEEE 1284 id contains
// match (case-insensitive).
func FindUSBPrinter(sysfsRoot, match string) (USBPrinter, error) {
	return findUSBPrinter(sysfsRoot, DefaultUSBDev, match)
}

func findUSBPrinter(sysfsRoot, devDir, match string) (USBPrinter, error) {
	all, err := discoverUSB(sysfsRoot, devDir)
	if err != nil {
		return USBPrinter{}, err
	}
	m := strings.ToLower(match)
	for _, p := range all {
		if strings.Contains(strings.ToLower(p.ID.Raw), m) {
			return p, nil
		}
	}
	return USBPrinter{}, fmt.Errorf("no USB printer whose IEEE 1284 id contains %q (%d USB printers attached)", match, len(all))
}

func readAttr(dir, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// naturalLess orders lp2 before lp10.
func naturalLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// SerialPort is a serial port found by the enumerator.
type SerialPort struct {
	Device       string
	IsUSB        bool
	VID, PID     string
	SerialNumber string
	Product      string
}

// DiscoverSerial lists serial ports (go.bug.st/serial/enumerator on Linux).
func DiscoverSerial() ([]SerialPort, error) { return discoverSerial() }
