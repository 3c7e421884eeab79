package station

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/packbench/packbench/queue"
)

// CommandConfig is [commands]: the barcodes that drive a bench without a
// screen. Scan recognises them before it looks for an order, so a
// command code wins over an order with the same identifier. Empty fields
// get the defaults (PB-CMD-…); "off" turns a command off. Codes match
// whatever the case (a scanner's caps lock must not make a command an
// unknown order).
type CommandConfig struct {
	// Reprint prints the last label the flow made again (same tracking number).
	Reprint string `toml:"reprint" json:"reprint,omitempty"`
	// Cancel disarms the flow: the armed order waits for its next scan;
	// nothing already labelled is cancelled or voided.
	Cancel string `toml:"cancel" json:"cancel,omitempty"`
	// Tare and Zero are the scale's tare and zero.
	Tare string `toml:"tare" json:"tare,omitempty"`
	Zero string `toml:"zero" json:"zero,omitempty"`
	// TestPrint queues a test label on the flow's printer.
	TestPrint string `toml:"test_print" json:"test_print,omitempty"`
}

// Command names (Command.Name, FlowState.Signal.Code of a command).
const (
	CommandReprint   = "reprint"
	CommandCancel    = "cancel"
	CommandTare      = "tare"
	CommandZero      = "zero"
	CommandTestPrint = "test_print"
)

// CommandOff in [commands] turns a command barcode off.
const CommandOff = "off"

// maxCommandCode bounds a command code: it must fit a Code 128 barcode a
// scanner reads off a sheet.
const maxCommandCode = 32

// Command is one command barcode: its name and the code to scan.
type Command struct {
	Name  string `json:"name"`
	Code  string `json:"code"`
	Label string `json:"label"` // what the sheet prints under the barcode
}

// ScaleControl is what command barcodes need of the scale.
type ScaleControl interface {
	Tare(ctx context.Context) error
	Zero(ctx context.Context) error
}

// withDefaults fills the empty codes.
func (c CommandConfig) withDefaults() CommandConfig {
	set := func(v *string, def string) {
		if *v == "" {
			*v = def
		}
	}
	set(&c.Reprint, "PB-CMD-REPRINT")
	set(&c.Cancel, "PB-CMD-CANCEL")
	set(&c.Tare, "PB-CMD-TARE")
	set(&c.Zero, "PB-CMD-ZERO")
	set(&c.TestPrint, "PB-CMD-TEST-PRINT")
	return c
}

// all lists every command, in sheet order, with its code ("off" included).
func (c CommandConfig) all() []Command {
	return []Command{
		{CommandReprint, c.Reprint, "Reprint last label"},
		{CommandCancel, c.Cancel, "Cancel (disarm)"},
		{CommandTare, c.Tare, "Tare scale"},
		{CommandZero, c.Zero, "Zero scale"},
		{CommandTestPrint, c.TestPrint, "Test print"},
	}
}

// validate checks the codes (after withDefaults): printable ASCII a Code
// 128 barcode carries, no spaces at the ends, and no two alike.
func (c CommandConfig) validate() error {
	seen := map[string]string{}
	for _, cmd := range c.all() {
		if cmd.Code == CommandOff {
			continue
		}
		key := "commands." + cmd.Name
		if len(cmd.Code) > maxCommandCode || strings.TrimSpace(cmd.Code) != cmd.Code {
			return fmt.Errorf("%w: %s: want 1 to %d characters without leading or trailing spaces, not %q", ErrConfig, key, maxCommandCode, cmd.Code)
		}
		for i := 0; i < len(cmd.Code); i++ {
			if b := cmd.Code[i]; b < 0x20 || b > 0x7e {
				return fmt.Errorf("%w: %s: want printable ASCII (a Code 128 barcode), not %q", ErrConfig, key, cmd.Code)
			}
		}
		fold := strings.ToUpper(cmd.Code)
		if other, ok := seen[fold]; ok {
			return fmt.Errorf("%w: %s: %q is also commands.%s (codes match whatever the case)", ErrConfig, key, cmd.Code, other)
		}
		seen[fold] = cmd.Name
	}
	return nil
}

// Commands lists the command barcodes that are on, in sheet order.
func (s *Station) Commands() []Command {
	var out []Command
	for _, c := range s.cfg.Commands.all() {
		if c.Code != CommandOff {
			out = append(out, c)
		}
	}
	return out
}

// command finds the command a scanned code names.
func (s *Station) command(code string) (Command, bool) {
	for _, c := range s.Commands() {
		if strings.EqualFold(c.Code, code) {
			return c, true
		}
	}
	return Command{}, false
}

// runCommand carries out a command barcode. Success sounds the command
// signal; a failure is the flow's problem command_error (and its signal).
func (s *Station) runCommand(ctx context.Context, c Command) (FlowState, error) {
	note, err := s.doCommand(ctx, c)
	if err != nil {
		s.setProblem(ProblemCommand, fmt.Sprintf("%s: %s", c.Label, unwrapMessage(err)))
		s.log.Warn("command barcode failed", "command", c.Name, "err", err)
		return s.State(), fmt.Errorf("station: command %s: %w", c.Name, err)
	}
	s.mu.Lock()
	s.flow.Note = note
	if p := s.flow.Problem; p != nil && p.Code == ProblemCommand {
		s.flow.Problem = nil
	}
	s.signalLocked(SignalOK, c.Name)
	s.publishLocked()
	st := s.flow
	s.mu.Unlock()
	s.log.Info("command barcode", "command", c.Name, "note", note)
	return st, nil
}

// doCommand is runCommand's action; it returns the note for the packer.
func (s *Station) doCommand(ctx context.Context, c Command) (string, error) {
	switch c.Name {
	case CommandReprint:
		label := s.State().LabelID
		if label == "" {
			return "", fmt.Errorf("%w: no label to reprint: the flow has made none since the bench started", ErrConflict)
		}
		p, job, err := s.Reprint(ctx, label, "")
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("reprinting %s (job %s)", p.Reference, job.ID), nil
	case CommandCancel:
		if _, err := s.Disarm(ctx); err != nil {
			return "", err
		}
		return "disarmed: scan the next order", nil
	case CommandTare, CommandZero:
		if s.scale == nil {
			return "", fmt.Errorf("%w: no scale control on this bench", ErrConflict)
		}
		f := s.scale.Tare
		if c.Name == CommandZero {
			f = s.scale.Zero
		}
		if err := f(ctx); err != nil {
			return "", err
		}
		return c.Label + ": done", nil
	case CommandTestPrint:
		job, err := s.TestPrint(ctx, "", queue.SourceFlow, s.about)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("test label queued (job %s)", job.ID), nil
	}
	return "", errors.New("unknown command " + c.Name) // the list above is the whole set
}
