package device

import (
	"fmt"
	"strings"
	"time"

	"github.com/packbench/packbench/internal/duration"
)

// Transports a printer can be reached through.
const (
	TransportUSB    = "usb"    // USB printer class: /dev/usb/lpN (usblp), status read back on the same node
	TransportTCP    = "tcp"    // raw TCP, port 9100
	TransportSerial = "serial" // RS-232 / USB-serial through go.bug.st/serial
	TransportSpool  = "spool"  // a folder: each job written as <job-id>.zpl
)

// Duration is the one config duration type (internal/duration): "300ms"
// or "5s" in TOML and JSON.
type Duration = duration.Duration

// PrinterConfig says how to reach one printer. The daemon decodes it from
// TOML; zero values mean the defaults in the field comments.
type PrinterConfig struct {
	Name      string `toml:"name" json:"name"`           // unique, used in logs and job routing
	Transport string `toml:"transport" json:"transport"` // usb | tcp | serial | spool

	Address string `toml:"address" json:"address,omitempty"` // tcp: host:port (port 9100 when omitted)
	Device  string `toml:"device" json:"device,omitempty"`   // usb: /dev/usb/lpN; serial: /dev/ttyUSB0
	// Match picks a USB printer by a case-insensitive substring of its IEEE
	// 1284 device id (e.g. "MDL:ZD420") when Device is empty, so a printer
	// that comes back as another lpN after a replug is still found.
	Match string `toml:"match" json:"match,omitempty"`
	// Sysfs and USBDevDir are where Match looks (default /sys and /dev/usb);
	// set only on unusual systems and in tests.
	Sysfs     string       `toml:"sysfs" json:"sysfs,omitempty"`
	USBDevDir string       `toml:"usb_dev_dir" json:"usb_dev_dir,omitempty"`
	Path      string       `toml:"path" json:"path,omitempty"` // spool: the folder
	Serial    SerialConfig `toml:"serial" json:"serial,omitempty"`

	StatusTimeout Duration `toml:"status_timeout" json:"status_timeout,omitempty"` // ~HS reply wait; default 2s
	SendTimeout   Duration `toml:"send_timeout" json:"send_timeout,omitempty"`     // one job's write; default 2m
	DialTimeout   Duration `toml:"dial_timeout" json:"dial_timeout,omitempty"`     // tcp connect; default 5s
	// NoStatus: the printer does not speak ZPL ~HS; jobs end as "sent".
	NoStatus bool `toml:"no_status" json:"no_status,omitempty"`
	// NoHQES: do not ask ~HQES for detail when ~HS goes unanswered.
	NoHQES bool `toml:"no_hqes" json:"no_hqes,omitempty"`
	DPI    int  `toml:"dpi" json:"dpi,omitempty"` // 152, 203, 300 or 600; default 203
}

// SerialConfig is the serial line setting; printers ship with 9600 8N1.
type SerialConfig struct {
	Baud        int    `toml:"baud" json:"baud,omitempty"`                 // default 9600
	DataBits    int    `toml:"data_bits" json:"data_bits,omitempty"`       // 7 or 8; default 8
	Parity      string `toml:"parity" json:"parity,omitempty"`             // none | odd | even | mark | space; default none
	StopBits    string `toml:"stop_bits" json:"stop_bits,omitempty"`       // 1 | 1.5 | 2; default 1
	FlowControl string `toml:"flow_control" json:"flow_control,omitempty"` // none | rtscts | xonxoff; default none
}

// Defaults.
const (
	DefaultStatusTimeout = 2 * time.Second
	DefaultSendTimeout   = 2 * time.Minute
	DefaultDialTimeout   = 5 * time.Second
	DefaultDPI           = 203
	DefaultBaud          = 9600
)

// withDefaults returns c with zero fields filled in.
func (c PrinterConfig) withDefaults() PrinterConfig {
	if c.StatusTimeout <= 0 {
		c.StatusTimeout = Duration(DefaultStatusTimeout)
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = Duration(DefaultSendTimeout)
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = Duration(DefaultDialTimeout)
	}
	if c.DPI == 0 {
		c.DPI = DefaultDPI
	}
	if c.Sysfs == "" {
		c.Sysfs = DefaultSysfs
	}
	if c.USBDevDir == "" {
		c.USBDevDir = DefaultUSBDev
	}
	c.Transport = strings.ToLower(c.Transport)
	if c.Transport == TransportTCP && c.Address != "" && !strings.Contains(c.Address, ":") {
		c.Address += ":9100"
	}
	s := &c.Serial
	if s.Baud == 0 {
		s.Baud = DefaultBaud
	}
	if s.DataBits == 0 {
		s.DataBits = 8
	}
	s.Parity = strings.ToLower(s.Parity)
	if s.Parity == "" {
		s.Parity = "none"
	}
	if s.StopBits == "" {
		s.StopBits = "1"
	}
	s.FlowControl = strings.ToLower(s.FlowControl)
	if s.FlowControl == "" {
		s.FlowControl = "none"
	}
	return c
}

// Validate reports the first setting that breaks a rule, naming the field.
func (c PrinterConfig) Validate() error {
	c = c.withDefaults()
	bad := func(field, rule string, v any) error {
		return fmt.Errorf("%w: printer %q: %s %v: %s", ErrConfig, c.Name, field, v, rule)
	}
	if c.Name == "" {
		return fmt.Errorf("%w: printer name: must not be empty", ErrConfig)
	}
	switch c.Transport {
	case TransportTCP:
		if c.Address == "" {
			return bad("address", "required for transport tcp (host:port)", `""`)
		}
	case TransportUSB:
		if c.Device == "" && c.Match == "" {
			return bad("device", "transport usb needs device (/dev/usb/lpN) or match (IEEE 1284 id text)", `""`)
		}
	case TransportSerial:
		if c.Device == "" {
			return bad("device", "required for transport serial (/dev/ttyUSB0)", `""`)
		}
		if err := c.Serial.validate(); err != nil {
			return fmt.Errorf("printer %q: %w", c.Name, err)
		}
	case TransportSpool:
		if c.Path == "" {
			return bad("path", "required for transport spool (a folder)", `""`)
		}
	default:
		return bad("transport", "must be usb, tcp, serial or spool", fmt.Sprintf("%q", c.Transport))
	}
	switch c.DPI {
	case 152, 203, 300, 600:
	default:
		return bad("dpi", "must be 152, 203, 300 or 600", c.DPI)
	}
	return nil
}

func (s SerialConfig) validate() error {
	bad := func(field, rule string, v any) error {
		return fmt.Errorf("%w: serial %s %v: %s", ErrConfig, field, v, rule)
	}
	if s.Baud < 50 || s.Baud > 4000000 {
		return bad("baud", "must be between 50 and 4000000", s.Baud)
	}
	if s.DataBits < 5 || s.DataBits > 8 {
		return bad("data_bits", "must be 5, 6, 7 or 8", s.DataBits)
	}
	switch s.Parity {
	case "none", "odd", "even", "mark", "space":
	default:
		return bad("parity", "must be none, odd, even, mark or space", fmt.Sprintf("%q", s.Parity))
	}
	switch s.StopBits {
	case "1", "1.5", "2":
	default:
		return bad("stop_bits", "must be 1, 1.5 or 2", fmt.Sprintf("%q", s.StopBits))
	}
	switch s.FlowControl {
	case "none", "rtscts", "xonxoff":
	default:
		return bad("flow_control", "must be none, rtscts or xonxoff", fmt.Sprintf("%q", s.FlowControl))
	}
	return nil
}
