package scale

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// HX711Config wires a load cell through an HX711 amplifier to two GPIO pins.
type HX711Config struct {
	DataPin  string `toml:"data_pin" json:"data_pin"`   // DOUT, e.g. "GPIO5"
	ClockPin string `toml:"clock_pin" json:"clock_pin"` // PD_SCK, e.g. "GPIO6"
	// Calibration is raw counts per gram (measure a known weight once).
	Calibration float64 `toml:"calibration" json:"calibration"`
	// Tare is the raw count with the platform empty.
	Tare int64 `toml:"tare" json:"tare"`
}

func (c HX711Config) validate() error {
	switch {
	case c.DataPin == "" || c.ClockPin == "":
		return fmt.Errorf("%w: hx711.data_pin and hx711.clock_pin are required", ErrConfig)
	case c.DataPin == c.ClockPin:
		return fmt.Errorf("%w: hx711.data_pin and hx711.clock_pin must differ", ErrConfig)
	case c.Calibration == 0 || math.IsNaN(c.Calibration) || math.IsInf(c.Calibration, 0):
		return fmt.Errorf("%w: hx711.calibration must be a non-zero number of counts per gram", ErrConfig)
	}
	return nil
}

// HX711Pins are the two pins the driver needs; periph's gpio.PinIO
// satisfies both, and scaletest.HX711 emulates the chip behind them.
type HX711Pins struct {
	Data  interface{ Read() gpio.Level }       // DOUT: low when a conversion is ready
	Clock interface{ Out(l gpio.Level) error } // PD_SCK
}

// hx711Conn bit-bangs the HX711: 24 bits MSB first, two's complement,
// then one more pulse to stay on channel A at gain 128.
type hx711Conn struct {
	pins    HX711Pins
	cfg     HX711Config
	clock   Clock
	source  string
	timeout time.Duration
	poll    time.Duration

	busMu sync.Mutex // one readout at a time: Zero may run beside Next
	mu    sync.Mutex
	tare  int64
}

// HX711 saturation codes: the amplifier clips at these.
const (
	hx711Max = 0x7fffff
	hx711Min = -0x800000
)

// sample reads one conversion, waiting for DOUT to go low.
func (c *hx711Conn) sample(ctx context.Context) (int64, error) {
	deadline := c.clock.Now().Add(c.timeout)
	for c.pins.Data.Read() != gpio.Low {
		if !c.clock.Now().Before(deadline) {
			return 0, fmt.Errorf("%s: %w: DOUT stayed high for %v (wiring, power?)", c.source, ErrTimeout, c.timeout)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-c.clock.After(c.poll):
		}
	}
	c.busMu.Lock()
	defer c.busMu.Unlock()
	var v uint32
	// PD_SCK must not stay high for 60 µs or the chip powers down, so the
	// pulses run back to back without sleeping.
	for i := 0; i < 25; i++ {
		if err := c.pins.Clock.Out(gpio.High); err != nil {
			return 0, fmt.Errorf("%s: clock pin: %w", c.source, err)
		}
		if err := c.pins.Clock.Out(gpio.Low); err != nil {
			return 0, fmt.Errorf("%s: clock pin: %w", c.source, err)
		}
		if i < 24 {
			v <<= 1
			if c.pins.Data.Read() == gpio.High {
				v |= 1
			}
		}
	}
	return int64(int32(v<<8) >> 8), nil // sign-extend 24 bits
}

func (c *hx711Conn) Next(ctx context.Context) (Reading, error) {
	raw, err := c.sample(ctx)
	if err != nil {
		return Reading{}, err
	}
	r := Reading{Status: StatusStable, Time: c.clock.Now(), Source: c.source, Unit: UnitGram, Exp: -3}
	switch raw {
	case hx711Max:
		r.Status, r.NoValue = StatusOver, true
		return r, nil
	case hx711Min:
		r.Status, r.NoValue = StatusUnder, true
		return r, nil
	}
	c.mu.Lock()
	tare := c.tare
	c.mu.Unlock()
	mg := math.Round(float64(raw-tare) * 1000 / c.cfg.Calibration)
	r.Milligrams, r.Value = int64(mg), int64(mg)
	switch {
	case r.Milligrams < 0:
		r.Status = StatusUnder
	case r.Milligrams == 0:
		r.Status = StatusZero
	}
	return r, nil
}

// Zero takes the current raw count as the empty platform. It lives in
// memory; write it to hx711.tare to keep it across restarts.
func (c *hx711Conn) Zero(ctx context.Context) error {
	raw, err := c.sample(ctx)
	if err != nil {
		return fmt.Errorf("zero: %w", err)
	}
	c.mu.Lock()
	c.tare = raw
	c.mu.Unlock()
	return nil
}

// Tare is Zero: a load cell has no separate gross and net.
func (c *hx711Conn) Tare(ctx context.Context) error { return c.Zero(ctx) }

func (c *hx711Conn) Close() error { return nil }
