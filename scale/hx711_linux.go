package scale

import (
	"fmt"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
)

// openHX711Pins finds the configured pins through periph and sets them up:
// DOUT as input, PD_SCK as output low (high for 60 µs powers the chip down).
func openHX711Pins(cfg HX711Config) (HX711Pins, error) {
	if _, err := host.Init(); err != nil {
		return HX711Pins{}, fmt.Errorf("hx711: GPIO: %w", err)
	}
	data, clk := gpioreg.ByName(cfg.DataPin), gpioreg.ByName(cfg.ClockPin)
	if data == nil {
		return HX711Pins{}, fmt.Errorf("%w: hx711.data_pin %q: no such GPIO on this board", ErrConfig, cfg.DataPin)
	}
	if clk == nil {
		return HX711Pins{}, fmt.Errorf("%w: hx711.clock_pin %q: no such GPIO on this board", ErrConfig, cfg.ClockPin)
	}
	if err := data.In(gpio.PullNoChange, gpio.NoEdge); err != nil {
		return HX711Pins{}, fmt.Errorf("hx711: data pin %s as input: %w", cfg.DataPin, err)
	}
	if err := clk.Out(gpio.Low); err != nil {
		return HX711Pins{}, fmt.Errorf("hx711: clock pin %s as output: %w", cfg.ClockPin, err)
	}
	return HX711Pins{Data: data, Clock: clk}, nil
}
