package scaletest

import (
	"sync"

	"periph.io/x/conn/v3/gpio"
)

// HX711 emulates the amplifier behind its two pins: DOUT low means a
// conversion is ready; each rising edge of PD_SCK shifts out the next bit
// (MSB first, 24-bit two's complement); pulse 25 selects channel A gain 128
// for the next conversion, which is then ready at once.
type HX711 struct {
	mu      sync.Mutex
	raw     int32
	stalled bool
	bit     int // pulses seen in this readout
	dout    gpio.Level
	sck     gpio.Level
	last    int // pulses in the last complete readout
	reads   int
}

// NewHX711 returns a chip with raw as its conversion result.
func NewHX711(raw int32) *HX711 { return &HX711{raw: raw} }

// Set changes the conversion result (clipped to 24 bits by the caller).
func (h *HX711) Set(raw int32) {
	h.mu.Lock()
	h.raw = raw
	h.mu.Unlock()
}

// Stall keeps DOUT high, as a chip without power or with a loose wire does.
func (h *HX711) Stall(stalled bool) {
	h.mu.Lock()
	h.stalled = stalled
	h.mu.Unlock()
}

// LastPulses is the number of PD_SCK pulses in the last readout (25 = gain 128).
func (h *HX711) LastPulses() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

// Reads counts completed readouts.
func (h *HX711) Reads() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reads
}

// Read is the DOUT pin.
func (h *HX711) Read() gpio.Level {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.bit == 0 {
		return gpio.Level(h.stalled) // ready (low) unless stalled
	}
	return h.dout
}

// Out is the PD_SCK pin.
func (h *HX711) Out(l gpio.Level) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	rising := l == gpio.High && h.sck == gpio.Low
	falling := l == gpio.Low && h.sck == gpio.High
	h.sck = l
	switch {
	case rising && h.bit < 24:
		h.dout = gpio.Level((uint32(h.raw)>>(23-h.bit))&1 == 1)
		h.bit++
	case rising:
		h.bit++
		h.dout = gpio.High // conversion running
	case falling && h.bit >= 25:
		h.last, h.bit = h.bit, 0
		h.reads++
	}
	return nil
}
