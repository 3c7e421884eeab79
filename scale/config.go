package scale

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/packbench/packbench/internal/clock"
)

// Drivers, as named in config and on the command line.
const (
	DriverHID        = "hid"
	DriverMTSICS     = "mt-sics"
	DriverNCI        = "nci"
	DriverToledo     = "toledo"
	DriverToledoCont = "toledo-cont"
	DriverHX711      = "hx711"
	DriverSim        = "sim"
)

// Drivers lists the driver names.
func Drivers() []string {
	return []string{DriverHID, DriverMTSICS, DriverNCI, DriverToledo, DriverToledoCont, DriverHX711, DriverSim}
}

// Config describes one scale, as read from the daemon's TOML file:
//
//	[scale]
//	driver = "nci"
//	device = "/dev/ttyUSB0"
//	poll_interval = "200ms"
//	[scale.line]
//	baud = 9600
//	data_bits = 7
//	parity = "even"
//	stop_bits = 1
type Config struct {
	// Driver is one of Drivers(); empty means "hid" with auto-detection.
	Driver string `toml:"driver" json:"driver"`
	// Device is the port (/dev/ttyUSB0) or hidraw node (/dev/hidraw0). For
	// hid, leave it empty to find the scale by its report descriptor, which
	// also finds it again under a new number after a replug.
	Device string `toml:"device" json:"device"`
	// Line is the serial line; unset fields take the driver's default
	// (MT-SICS 9600 8N1; NCI and Toledo 9600 7E1).
	Line LineSettings `toml:"line" json:"line"`
	// Unit is the Toledo polled unit: the protocol sends none (lb, kg, oz, g).
	Unit string `toml:"unit" json:"unit"`
	// PollInterval is the time between weight requests of polled drivers
	// (default 200 ms) and between HX711 ready checks.
	PollInterval Duration `toml:"poll_interval" json:"poll_interval"`
	// ReplyTimeout is how long a reply (or a continuous frame, or an HX711
	// conversion) may take before the scale counts as gone (default 1 s).
	ReplyTimeout Duration `toml:"reply_timeout" json:"reply_timeout"`
	// Checksum: Toledo continuous frames carry a checksum byte (default true).
	Checksum *bool `toml:"checksum" json:"checksum,omitempty"`
	// HX711 wires a load cell on GPIO.
	HX711 HX711Config `toml:"hx711" json:"hx711"`
	// Filter tunes the stable-weight filter fed from this scale
	// ([scale.filter]); NewOpener ignores it, pass it to NewFilter.
	Filter FilterOptions `toml:"filter" json:"filter"`
}

// Options are the dependencies of NewOpener; nil means defaults. Tests
// replace the roots and openers to run the real drivers on fakes.
type Options struct {
	Clock      Clock        // default the wall clock
	SysfsRoot  string       // default "/sys"
	DevRoot    string       // default "/dev"
	OpenHID    HIDOpener    // default OpenHIDDevice
	OpenSerial SerialOpener // default OpenSerialPort
	// Simulator serves driver "sim" (default: a new one).
	Simulator *Simulator
	// HX711Pins replaces the GPIO lookup by pin name (tests, other boards).
	HX711Pins *HX711Pins
}

var defaultLines = map[string]LineSettings{
	DriverMTSICS:     {Baud: 9600, DataBits: 8, Parity: "none", StopBits: 1},
	DriverNCI:        {Baud: 9600, DataBits: 7, Parity: "even", StopBits: 1},
	DriverToledo:     {Baud: 9600, DataBits: 7, Parity: "even", StopBits: 1},
	DriverToledoCont: {Baud: 9600, DataBits: 7, Parity: "even", StopBits: 1},
}

// Source names the scale as readings will: "nci:/dev/ttyUSB0", "hid:auto".
func (c Config) Source() string {
	d := c.Driver
	if d == "" {
		d = DriverHID
	}
	dev := c.Device
	switch {
	case d == DriverSim:
		return "sim"
	case d == DriverHX711:
		dev = c.HX711.DataPin + "," + c.HX711.ClockPin
	case dev == "":
		dev = "auto"
	}
	return d + ":" + dev
}

// NewOpener checks cfg and returns the Opener a Link runs. Errors name the
// config field and the rule it breaks.
func NewOpener(cfg Config, opts *Options) (Opener, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.SysfsRoot == "" {
		o.SysfsRoot = "/sys"
	}
	if o.DevRoot == "" {
		o.DevRoot = "/dev"
	}
	if o.OpenHID == nil {
		o.OpenHID = OpenHIDDevice
	}
	if o.OpenSerial == nil {
		o.OpenSerial = OpenSerialPort
	}
	poll := time.Duration(cfg.PollInterval)
	if poll == 0 {
		poll = 200 * time.Millisecond
	}
	timeout := time.Duration(cfg.ReplyTimeout)
	if timeout == 0 {
		timeout = time.Second
	}
	if poll < 0 || timeout < 0 {
		return nil, fmt.Errorf("%w: poll_interval and reply_timeout must be positive", ErrConfig)
	}
	driver := strings.ToLower(strings.TrimSpace(cfg.Driver))
	switch driver {
	case "", "auto", DriverHID:
		return hidOpener(cfg.Device, o), nil
	case DriverSim:
		sim := o.Simulator
		if sim == nil {
			sim = NewSimulator(&SimOptions{Clock: o.Clock})
		}
		return sim.Open, nil
	case DriverHX711:
		if err := cfg.HX711.validate(); err != nil {
			return nil, err
		}
		return func(ctx context.Context) (Conn, error) {
			var pins HX711Pins
			if o.HX711Pins != nil {
				pins = *o.HX711Pins
			} else {
				var err error
				if pins, err = openHX711Pins(cfg.HX711); err != nil {
					return nil, err
				}
			}
			return &hx711Conn{pins: pins, cfg: cfg.HX711, clock: o.Clock, source: cfg.Source(),
				timeout: timeout, poll: min(poll, 10*time.Millisecond), tare: cfg.HX711.Tare}, nil
		}, nil
	case DriverMTSICS, DriverNCI, DriverToledo, DriverToledoCont:
	default:
		return nil, fmt.Errorf("%w: driver %q: want one of %s", ErrConfig, cfg.Driver, strings.Join(Drivers(), ", "))
	}
	if cfg.Device == "" {
		return nil, fmt.Errorf("%w: device is required for driver %s (e.g. /dev/ttyUSB0)", ErrConfig, driver)
	}
	line := cfg.Line.withDefaults(defaultLines[driver])
	if err := line.validate(); err != nil {
		return nil, err
	}
	var unit Unit
	if driver == DriverToledo {
		var err error
		if unit, err = ParseUnit(cfg.Unit); err != nil {
			return nil, fmt.Errorf("%w: unit %q: the Toledo protocol sends no unit, so set lb, kg, oz or g", ErrConfig, cfg.Unit)
		}
	}
	checksum := cfg.Checksum == nil || *cfg.Checksum
	cfg.Driver = driver
	source := cfg.Source()
	return func(ctx context.Context) (Conn, error) {
		port, err := o.OpenSerial(cfg.Device, line)
		if err != nil {
			return nil, err
		}
		if err := port.SetReadTimeout(readChunk); err != nil {
			port.Close()
			return nil, fmt.Errorf("%s: set read timeout: %w", source, err)
		}
		rd := portReader{port: port, clock: o.Clock}
		if driver == DriverToledoCont {
			return &toledoContConn{source: source, port: port, rd: rd, clock: o.Clock, timeout: timeout, checksum: checksum}, nil
		}
		c := &polledConn{source: source, port: port, rd: rd, clock: o.Clock, poll: poll, timeout: timeout}
		switch driver {
		case DriverMTSICS:
			newMTSICS(c)
		case DriverNCI:
			newNCI(c)
		case DriverToledo:
			newToledo(c, unit)
		}
		return c, nil
	}, nil
}

func hidOpener(device string, o Options) Opener {
	return func(ctx context.Context) (Conn, error) {
		path := device
		if path == "" {
			found, err := FindHIDScales(o.SysfsRoot, o.DevRoot)
			if err != nil {
				return nil, err
			}
			if len(found) == 0 {
				return nil, fmt.Errorf("%w: no hidraw device under %s/class/hidraw has a scale report descriptor (usage page 0x8D); plug one in, or name the scale: driver and device in [scale] of the config, or packbench weigh --driver mt-sics|nci|toledo|toledo-cont|hx711|sim --port DEVICE", ErrNoScale, o.SysfsRoot)
			}
			path = found[0].Path
		}
		dev, writable, err := o.OpenHID(path)
		if err != nil {
			return nil, fmt.Errorf("hid:%s: open: %w", path, err)
		}
		return newHIDConn(dev, writable, path, o.Clock, hidHold), nil
	}
}
