package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/uplink"
)

// commands answers cmd/<verb> over MQTT (uplink.Commands) with the same
// station, queue and scale calls the API makes. Arguments are decoded
// strictly; errors name the argument.
type commands struct{ b *bench }

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

// Do implements uplink.Commands.
func (c *commands) Do(ctx context.Context, verb string, args json.RawMessage) (any, error) {
	b := c.b
	switch verb {
	case uplink.VerbReprint:
		var a reprintArgs
		if err := decodeArgs(args, &a); err != nil {
			return nil, err
		}
		if a.ID == "" {
			return nil, errors.New("args.id: required (package reference, tracking number or job id)")
		}
		if a.Printer != "" && !c.known(a.Printer) {
			return nil, fmt.Errorf("args.printer: %q: no such printer on this bench", a.Printer)
		}
		p, job, err := b.station.Reprint(ctx, a.ID, a.Printer)
		if err != nil {
			return nil, err
		}
		return map[string]any{"reference": p.Reference, "tracking_number": p.TrackingNumber, "job": job}, nil
	case uplink.VerbCancel, uplink.VerbRetry:
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
		if verb == uplink.VerbCancel {
			return b.db.Cancel(ctx, id, reason)
		}
		return b.db.Retry(ctx, id, reason)
	case uplink.VerbTare, uplink.VerbZero:
		if err := decodeArgs(args, &struct{}{}); err != nil {
			return nil, err
		}
		var err error
		if verb == uplink.VerbTare {
			err = b.link.Tare(ctx)
		} else {
			err = b.link.Zero(ctx)
		}
		if err != nil {
			return nil, err
		}
		return map[string]bool{"ok": true}, nil
	case uplink.VerbTestPrint:
		var a testPrintArgs
		if err := decodeArgs(args, &a); err != nil {
			return nil, err
		}
		job, err := c.b.station.TestPrint(ctx, a.Printer, queue.SourceMQTT, c.b.cfg.Bench.Name+", version "+version)
		if err != nil {
			return nil, fmt.Errorf("args.printer: %w", err)
		}
		return job, nil
	case uplink.VerbConfigGet:
		if err := decodeArgs(args, &struct{}{}); err != nil {
			return nil, err
		}
		return b.cfg.view(), nil
	}
	return nil, fmt.Errorf("%w: %q", uplink.ErrUnknownVerb, verb)
}

func (c *commands) known(printer string) bool {
	return slices.ContainsFunc(c.b.cfg.Printers, func(p device.PrinterConfig) bool { return p.Name == printer })
}

// decodeArgs decodes a command's args strictly into v; absent args are
// the zero value.
func decodeArgs(args json.RawMessage, v any) error {
	if len(bytes.TrimSpace(args)) == 0 || string(bytes.TrimSpace(args)) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return fmt.Errorf("args.%s: must be %s, not %s", te.Field, te.Type, te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return fmt.Errorf("args.%s: unknown argument", strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`))
		}
		return fmt.Errorf("args: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("args: trailing data after the JSON object")
	}
	return nil
}
