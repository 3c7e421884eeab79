package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/station"
)

// openGPIO opens the [gpio] pins (or the test's injected ones). A part that
// cannot be opened is logged once and left out: the bench prints without
// its light or buzzer.
func (b *bench) openGPIO() {
	if !b.cfg.GPIO.Fitted() {
		return
	}
	g, err := device.OpenGPIO(b.cfg.GPIO, b.opts.GPIO)
	if err != nil {
		b.log.Error("gpio: parts left out; the bench runs without them", "err", err)
	}
	b.gpio = g
	b.log.Info("gpio", "button", g.Button != nil, "led", g.LED != nil, "buzzer", g.Buzzer != nil)
}

// runGPIO plays the station's feedback on the LED and buzzer and hands
// button presses to the station until ctx ends.
func (b *bench) runGPIO(ctx context.Context) error {
	g := b.gpio
	var parts sync.WaitGroup
	defer parts.Wait() // each part ends with ctx (outputs turn their part off)
	var led, buzzer station.PatternPlayer
	if g.LED != nil {
		led = g.LED
		parts.Go(func() { g.LED.Run(ctx) })
	}
	if g.Buzzer != nil {
		buzzer = g.Buzzer
		parts.Go(func() { g.Buzzer.Run(ctx) })
	}
	if g.Button != nil {
		parts.Go(func() {
			g.Button.Run(ctx, func(p device.Press) {
				if _, err := b.station.Press(ctx, p); err != nil {
					b.log.Warn("button: "+p.String()+" press", "err", err)
				}
			})
		})
	}
	if err := b.station.RunFeedback(ctx, led, buzzer); err != nil {
		return fmt.Errorf("gpio: feedback: %w", err)
	}
	return nil
}
