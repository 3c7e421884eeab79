package station

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/packbench/packbench/device"
)

// Feedback for a bench without a screen: what the status LED shows and
// what the buzzer plays, decided here from the flow state so the GPIO
// parts, the page, `packbench status` and the MQTT state say the same.
// docs/headless.md documents the blink codes and beeps.

// Signal kinds (FlowState.Signal.Kind).
const (
	SignalOK    = "ok"    // a scan armed an order, or a command barcode ran
	SignalError = "error" // a problem appeared; Code names it
)

// Signal is the last sound the bench made: Seq grows with every new one,
// so a listener plays each Seq once even when it only sees the newest state.
type Signal struct {
	Seq  uint64 `json:"seq"`
	Kind string `json:"kind"` // ok or error
	Code string `json:"code"` // "scan", a command name, or a problem/attention code
	// Pattern names the buzzer's pattern (BuzzerPattern) and Beep is it in
	// milliseconds, on and off in turn (on first), for the page to play
	// the same sound.
	Pattern string    `json:"pattern"`
	Beep    []int     `json:"beep"`
	At      time.Time `json:"at"`
}

// SignalScan is the code of an ok signal for a scan that armed an order.
const SignalScan = "scan"

// Attention codes from the printers (FlowState.Attention), beside the flow's
// problem codes.
const (
	AttentionPaperOut       = "paper_out"       // paper or ribbon out
	AttentionPrinterOffline = "printer_offline" // the printer cannot be reached or does not answer
	AttentionPrinterError   = "printer_error"   // head open, paused, temperature, a printer fault
)

// ProblemCommand: a command barcode could not be carried out (nothing to
// reprint, labelling in progress, the scale refused).
const ProblemCommand = "command_error"

// LED modes (FlowState.LED).
const (
	LEDReady     = "ready"     // steady on: scan an order
	LEDArmed     = "armed"     // slow blink: place the parcel
	LEDWorking   = "working"   // fast blink: labelling or printing
	LEDAttention = "attention" // Blinks flashes, a pause, again: a person is needed
)

// blinkCodes are the flashes of each attention code (docs/headless.md).
var blinkCodes = map[string]int{
	ProblemNoOrder:          1,
	ProblemNotArmed:         2,
	ProblemBadWeight:        2,
	ProblemTooLight:         2,
	AttentionPaperOut:       3,
	AttentionPrinterOffline: 4,
	AttentionPrinterError:   5,
	ProblemPrinter:          5,
	ProblemUncertain:        5,
	ProblemCarrier:          6,
	ProblemLabel:            7,
	ProblemOrder:            7,
	ProblemAlreadyLabelled:  7,
	ProblemInternal:         7,
	ProblemCommand:          7,
}

// BlinkCode is how many times the LED flashes for an attention code.
func BlinkCode(code string) int {
	if n, ok := blinkCodes[code]; ok {
		return n
	}
	return 7
}

// printerAttention maps a printer state to an attention code ("" for fine).
func printerAttention(st device.State) string {
	switch st {
	case device.StatePaperOut, device.StateRibbonOut:
		return AttentionPaperOut
	case device.StateOffline, device.StateNoReply:
		return AttentionPrinterOffline
	case device.StateHeadOpen, device.StatePaused, device.StateOverTemp, device.StateUnderTemp, device.StateError:
		return AttentionPrinterError
	}
	return ""
}

// attentionRank orders attention codes: what stops every label first.
var attentionRank = []string{AttentionPrinterOffline, AttentionPaperOut, AttentionPrinterError}

// SetPrinterState tells the station a printer's state (from its status
// reports). A printer entering a state that needs a person adds its
// attention code and sounds it once; leaving it clears the code.
func (s *Station) SetPrinterState(name string, st device.State) {
	code := printerAttention(st)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.printerAttn[name] == code {
		return
	}
	if code == "" {
		delete(s.printerAttn, name)
	} else {
		s.printerAttn[name] = code
		s.signalLocked(SignalError, code)
	}
	s.publishLocked()
}

// signalLocked records a new sound; s.mu is held, publishLocked follows.
func (s *Station) signalLocked(kind, code string) {
	s.signalSeq++
	sig := &Signal{Seq: s.signalSeq, Kind: kind, Code: code, At: s.clock.Now()}
	p := BuzzerPattern(*sig)
	sig.Pattern = p.Name
	for _, st := range p.Steps {
		if st.For > 0 {
			sig.Beep = append(sig.Beep, int(st.For/time.Millisecond))
		}
	}
	s.flow.Signal = sig
}

// feedbackLocked fills the headless fields of the state before it is
// published: a problem not signalled yet sounds its pattern, and the
// attention codes and LED follow the flow and the printers. s.mu is held.
func (s *Station) feedbackLocked() {
	if p := s.flow.Problem; p != nil && p != s.signalled {
		s.signalled = p
		s.signalLocked(SignalError, p.Code)
	}
	var attn []string
	for _, code := range attentionRank {
		for _, c := range s.printerAttn {
			if c == code {
				attn = append(attn, code)
				break
			}
		}
	}
	if p := s.flow.Problem; p != nil && !slices.Contains(attn, p.Code) {
		attn = append(attn, p.Code)
	}
	s.flow.Attention = attn
	s.flow.LED, s.flow.Blinks = LEDMode(s.flow.State, attn)
}

// LEDMode is the status LED's mode for a flow state and its attention
// codes (most urgent first), with the flashes of an attention mode.
func LEDMode(flow string, attention []string) (mode string, blinks int) {
	if len(attention) > 0 {
		return LEDAttention, BlinkCode(attention[0])
	}
	switch flow {
	case FlowArmed:
		return LEDArmed, 0
	case FlowLabelling, FlowPrinting:
		return LEDWorking, 0
	}
	return LEDReady, 0
}

// Timing of the LED and buzzer patterns (docs/headless.md).
const (
	blinkOn    = 150 * time.Millisecond
	blinkOff   = 250 * time.Millisecond
	blinkPause = 1500 * time.Millisecond
)

// LEDPattern is the pattern the status LED plays for a mode.
func LEDPattern(mode string, blinks int) device.Pattern {
	switch mode {
	case LEDArmed:
		return device.Pattern{Name: "armed", Repeat: true, Steps: []device.Step{{On: true, For: time.Second}, {On: false, For: time.Second}}}
	case LEDWorking:
		return device.Pattern{Name: "working", Repeat: true, Steps: []device.Step{{On: true, For: 200 * time.Millisecond}, {On: false, For: 200 * time.Millisecond}}}
	case LEDAttention:
		blinks = max(blinks, 1)
		p := device.Pattern{Name: "attention-" + strconv.Itoa(blinks), Repeat: true}
		for i := 0; i < blinks; i++ {
			p.Steps = append(p.Steps, device.Step{On: true, For: blinkOn}, device.Step{On: false, For: blinkOff})
		}
		p.Steps[len(p.Steps)-1].For = blinkPause
		return p
	}
	return device.Pattern{Name: "ready", Steps: []device.Step{{On: true}}}
}

// beep builds a buzzer pattern from on/off lengths in milliseconds
// (on, off, on, …), ending off.
func beep(name string, ms ...int) device.Pattern {
	p := device.Pattern{Name: name}
	for i, n := range ms {
		p.Steps = append(p.Steps, device.Step{On: i%2 == 0, For: time.Duration(n) * time.Millisecond})
	}
	p.Steps = append(p.Steps, device.Step{On: false}) // held off until the next sound
	return p
}

// BuzzerPattern is what the buzzer plays for a signal: a short beep for a
// good scan, two for a command, and a pattern of its own for each problem.
func BuzzerPattern(sig Signal) device.Pattern {
	if sig.Kind == SignalOK {
		if sig.Code == SignalScan {
			return beep("scan-ok", 80)
		}
		return beep("command-ok", 60, 80, 60)
	}
	switch sig.Code {
	case ProblemNoOrder:
		return beep("unknown-code", 150, 100, 150, 100, 150)
	case ProblemNotArmed, ProblemBadWeight, ProblemTooLight:
		return beep("weight", 400, 150, 400)
	case AttentionPaperOut:
		return beep("paper-out", 1000)
	case AttentionPrinterOffline:
		return beep("printer-offline", 600, 100, 150, 100, 150)
	case AttentionPrinterError, ProblemPrinter, ProblemUncertain:
		return beep("printer-error", 600, 100, 150)
	}
	return beep("error", 60, 60, 60, 60, 60, 60, 60, 60, 60)
}

// Press is what the bench's button (or foot pedal) does:
//   - short press, "print now": a parcel put on the scale before its order
//     was scanned is labelled at the weight it settled at, without lifting
//     it; with no such parcel it reprints the last label;
//   - long press: reprints the last label.
//
// A press sounds like the command barcode it stands for.
func (s *Station) Press(ctx context.Context, p device.Press) (FlowState, error) {
	if p == device.PressShort {
		s.feedMu.Lock()
		s.mu.Lock()
		r := s.waiting
		ready := r != nil && s.armed != "" && s.flow.State == FlowArmed
		if ready {
			s.waiting, s.flow.AwaitRemoval = nil, false
		}
		s.mu.Unlock()
		if ready {
			s.log.Info("button: print now", "weight", r.Display())
			s.placed(ctx, *r)
			s.feedMu.Unlock()
			return s.State(), nil
		}
		s.feedMu.Unlock()
	}
	for _, c := range s.cfg.Commands.all() {
		if c.Name == CommandReprint {
			return s.runCommand(ctx, c)
		}
	}
	return s.State(), nil // unreachable: reprint is always in the list
}

// PatternPlayer plays patterns: a device.Output on a GPIO pin.
type PatternPlayer interface {
	Set(device.Pattern)
}

var _ PatternPlayer = (*device.Output)(nil)

// RunFeedback drives the status LED and the buzzer (either may be nil)
// from the flow state until ctx ends: the LED shows the state's mode, the
// buzzer plays each new signal once (signals from before the start are
// not replayed).
func (s *Station) RunFeedback(ctx context.Context, led, buzzer PatternPlayer) error {
	ch, cancel := s.Subscribe()
	defer cancel()
	s.mu.Lock()
	heard := s.signalSeq
	s.mu.Unlock()
	lastLED := ""
	for {
		select {
		case <-ctx.Done():
			return nil
		case fs := <-ch:
			if led != nil {
				if p := LEDPattern(fs.LED, fs.Blinks); p.Name != lastLED {
					lastLED = p.Name
					led.Set(p)
				}
			}
			if sig := fs.Signal; sig != nil && sig.Seq > heard {
				heard = sig.Seq
				if buzzer != nil {
					buzzer.Set(BuzzerPattern(*sig))
				}
			}
		}
	}
}
