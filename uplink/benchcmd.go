package uplink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/packbench/packbench/internal/strictjson"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/station"
)

// What BenchCommands needs from the bench: small views of the station, the
// queue, the scale link and the configuration.
type (
	// CommandStation reprints packages and prints test labels.
	CommandStation interface {
		Reprint(ctx context.Context, id, printer string) (station.Package, queue.Job, error)
		TestPrint(ctx context.Context, printer string, source queue.Source, about string) (queue.Job, error)
	}
	// CommandJobs cancels and retries queue jobs.
	CommandJobs interface {
		Cancel(ctx context.Context, id queue.JobID, reason string) (queue.Job, error)
		Retry(ctx context.Context, id queue.JobID, reason string) (queue.Job, error)
	}
	// CommandScale tares and zeroes the scale.
	CommandScale interface {
		Tare(ctx context.Context) error
		Zero(ctx context.Context) error
	}
	// ConfigView gives the running configuration with its secrets removed.
	ConfigView interface {
		ConfigView() any
	}
)

var (
	_ CommandStation = (*station.Station)(nil)
	_ CommandJobs    = (*queue.DB)(nil)
	_ CommandScale   = (*scale.Link)(nil)
	_ Commands       = (*BenchCommands)(nil)
	_ CommandVerbs   = (*BenchCommands)(nil)
)

// benchVerbs are the verbs BenchCommands answers (ping is the link's own).
var benchVerbs = []string{VerbReprint, VerbCancel, VerbRetry, VerbTare, VerbZero, VerbTestPrint, VerbConfigGet}

// CommandDeps are what BenchCommands calls; all are required.
type CommandDeps struct {
	Station CommandStation
	Jobs    CommandJobs
	Scale   CommandScale
	Config  ConfigView
	// Firmware answers firmware.update; nil: the verb is not offered.
	Firmware CommandFirmware
}

// CommandFirmware starts a signed update from manifestURL (sig: the
// manifest's minisign signature, nil to fetch url.minisig). It returns
// once the update started; the rest runs in the background.
type CommandFirmware interface {
	StartUpdate(manifestURL string, sig []byte) (any, error)
}

// CommandOptions tune BenchCommands; nil means the defaults.
type CommandOptions struct {
	// Printers are the bench's printer names a reprint may name; empty
	// refuses any named printer.
	Printers []string
	// About is printed on a test label under the printer's name (the
	// bench's name and version).
	About string
}

// BenchCommands answers cmd/<verb> (Commands) with the same station, queue
// and scale calls the API makes. Arguments are decoded strictly; errors
// name the argument.
type BenchCommands struct {
	d        CommandDeps
	printers []string
	about    string
}

// NewBenchCommands returns the bench's command set.
func NewBenchCommands(d CommandDeps, opts *CommandOptions) (*BenchCommands, error) {
	if d.Station == nil || d.Jobs == nil || d.Scale == nil || d.Config == nil {
		return nil, errors.New("uplink: bench commands: Station, Jobs, Scale and Config are required")
	}
	var o CommandOptions
	if opts != nil {
		o = *opts
	}
	return &BenchCommands{d: d, printers: slices.Clone(o.Printers), about: o.About}, nil
}

// Command arguments ("args" of the request).
type (
	reprintArgs struct {
		ID      string `json:"id"`      // package reference, tracking number or job id
		Printer string `json:"printer"` // optional: another printer
	}
	jobArgs struct {
		Job    string `json:"job"` // j00000042, j42 or 42
		Reason string `json:"reason"`
	}
	testPrintArgs struct {
		Printer string `json:"printer"` // optional: default the flow's printer
	}
)

// Verbs implements CommandVerbs: the verbs Do answers.
func (c *BenchCommands) Verbs() []string {
	v := slices.Clone(benchVerbs)
	if c.d.Firmware != nil {
		v = append(v, VerbFirmwareUpdate)
	}
	return v
}

// Do implements Commands.
func (c *BenchCommands) Do(ctx context.Context, verb string, args json.RawMessage) (any, error) {
	switch verb {
	case VerbFirmwareUpdate:
		if c.d.Firmware == nil {
			break
		}
		var a struct {
			URL       string `json:"url"`
			Signature string `json:"signature"`
		}
		if err := decodeArgs(args, &a); err != nil {
			return nil, err
		}
		if !strings.HasPrefix(a.URL, "https://") {
			return nil, errors.New("args.url: want the release manifest's https URL")
		}
		var sig []byte
		if a.Signature != "" {
			sig = []byte(a.Signature)
		}
		return c.d.Firmware.StartUpdate(a.URL, sig)
	case VerbReprint:
		var a reprintArgs
		if err := decodeArgs(args, &a); err != nil {
			return nil, err
		}
		if a.ID == "" {
			return nil, errors.New("args.id: required (package reference, tracking number or job id)")
		}
		if a.Printer != "" && !slices.Contains(c.printers, a.Printer) {
			return nil, fmt.Errorf("args.printer: %q: no such printer on this bench", a.Printer)
		}
		p, job, err := c.d.Station.Reprint(ctx, a.ID, a.Printer)
		if err != nil {
			return nil, err
		}
		return map[string]any{"reference": p.Reference, "tracking_number": p.TrackingNumber, "job": job}, nil
	case VerbCancel, VerbRetry:
		var a jobArgs
		if err := decodeArgs(args, &a); err != nil {
			return nil, err
		}
		id, err := queue.ParseJobID(a.Job)
		if err != nil {
			return nil, fmt.Errorf("args.job: %q: want a job id such as j00000042", a.Job)
		}
		reason := a.Reason
		if reason == "" {
			reason = verb + " over MQTT"
		}
		if verb == VerbCancel {
			return c.d.Jobs.Cancel(ctx, id, reason)
		}
		return c.d.Jobs.Retry(ctx, id, reason)
	case VerbTare, VerbZero:
		if err := decodeArgs(args, &struct{}{}); err != nil {
			return nil, err
		}
		var err error
		if verb == VerbTare {
			err = c.d.Scale.Tare(ctx)
		} else {
			err = c.d.Scale.Zero(ctx)
		}
		if err != nil {
			return nil, err
		}
		return map[string]bool{"ok": true}, nil
	case VerbTestPrint:
		var a testPrintArgs
		if err := decodeArgs(args, &a); err != nil {
			return nil, err
		}
		job, err := c.d.Station.TestPrint(ctx, a.Printer, queue.SourceMQTT, c.about)
		if err != nil {
			return nil, fmt.Errorf("args.printer: %w", err)
		}
		return job, nil
	case VerbConfigGet:
		if err := decodeArgs(args, &struct{}{}); err != nil {
			return nil, err
		}
		return c.d.Config.ConfigView(), nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownVerb, verb)
}

// decodeArgs decodes a command's args strictly into v; absent args are
// the zero value.
func decodeArgs(args json.RawMessage, v any) error {
	if len(bytes.TrimSpace(args)) == 0 || string(bytes.TrimSpace(args)) == "null" {
		return nil
	}
	err := strictjson.Decode(args, v, nil)
	var e *strictjson.Error
	if err == nil || !errors.As(err, &e) {
		return err
	}
	if f := e.Field(""); f != "" {
		return fmt.Errorf("args.%s: %s", f, e.Rule())
	}
	return fmt.Errorf("args: %s", e.Rule())
}
