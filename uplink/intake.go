package uplink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/packbench/packbench/internal/clock"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// StationIntake is the Intake of a bench: labels and images become
// printer-ready ZPL at the station's label size and resolution, raw ZPL is
// checked, and the job is enqueued under the push's idempotency key; an
// order goes to the station and prints when its parcel is weighed. A push
// whose content is wrong is rejected naming the field (PushError); storage
// errors are returned as they are, so the broker redelivers.
type StationIntake struct {
	db       *queue.DB
	st       *station.Station
	log      *slog.Logger
	clock    clock.Clock
	printers []string
	after    func(PushJob, bool)
}

// IntakeOptions tune a StationIntake; nil means the defaults.
type IntakeOptions struct {
	// Printers are the bench's printer names a push may name; empty lets
	// a push name none but the station's own.
	Printers []string
	Logger   *slog.Logger
	Clock    clock.Clock // dates the labels; nil means clock.Real{}
	// AfterCommit runs once a push is durable, before Push returns and so
	// before the link acknowledges it (created is false for a repeat).
	AfterCommit func(j PushJob, created bool)
}

// NewStationIntake returns the intake that feeds st and db.
func NewStationIntake(st *station.Station, db *queue.DB, opts *IntakeOptions) (*StationIntake, error) {
	var o IntakeOptions
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	// The label size, resolution and format are the station's (its
	// LabelOptions and RenderLabel), checked when it was made.
	return &StationIntake{
		db: db, st: st, log: o.Logger, clock: o.Clock, printers: slices.Clone(o.Printers), after: o.AfterCommit,
	}, nil
}

// invalid is a push error that rejects the push for good, naming the field.
func invalid(field, format string, args ...any) error {
	return &PushError{Field: field, Rule: fmt.Sprintf(format, args...)}
}

// Push implements Intake: it commits before it returns.
func (in *StationIntake) Push(ctx context.Context, j PushJob) (PushResult, error) {
	if j.Type == PushOrder {
		return in.pushOrder(ctx, j)
	}
	printer := j.Printer
	if printer == "" {
		printer = in.st.Printer()
	} else if err := station.KnownPrinter(in.printers, in.st.Printer(), printer); err != nil {
		var fe *station.FieldError
		errors.As(err, &fe)
		return PushResult{}, invalid(fe.Field, "%s", fe.Rule)
	}
	label, err := in.render(j)
	if err != nil {
		return PushResult{}, err
	}
	nj := queue.NewJob{Key: j.Key(), Source: queue.SourceMQTT, Printer: printer, Copies: j.Copies, Ref: j.Key()}
	job, created, err := in.st.EnqueueJobLabel(ctx, nj, label)
	if err != nil {
		return PushResult{}, fmt.Errorf("mqtt push %q: %w", j.ID, err)
	}
	in.committed(j, created)
	if created {
		in.st.LogZPLSettings(job.ID, "mqtt", label.Settings)
	}
	if !created {
		in.log.Info("mqtt push already taken: same job (a redelivery or a repeated id)", "id", j.ID, "job", job.ID)
	}
	return PushResult{Job: job.ID.String(), Created: created}, nil
}

// render turns a push's body into checked, printer-ready ZPL and what
// draws its preview (the station's MakeJobLabel, as for the print API).
func (in *StationIntake) render(j PushJob) (station.JobLabel, error) {
	var body []byte
	switch j.Type {
	case PushZPL:
		body = []byte(j.ZPL)
	case PushPNG:
		body = j.PNG
	case PushLabel:
		body = j.Label
	}
	l, err := in.st.MakeJobLabel(j.Type, body, j.Copies, in.clock.Now().UTC())
	var fe *station.FieldError
	if errors.As(err, &fe) {
		if fe.Field == "type" {
			return l, invalid("type", "%q: must be label, zpl, png or order", j.Type)
		}
		return l, invalid(fe.Field, "%s", fe.Rule)
	}
	return l, err
}

// pushOrder creates the pushed order; the flow prints it when its parcel
// is weighed. The order's id is the push id when the order has none, so a
// redelivered push finds the order it created and is not an error; the
// same id with different content is rejected naming the field.
func (in *StationIntake) pushOrder(ctx context.Context, j PushJob) (PushResult, error) {
	if j.Printer != "" {
		return PushResult{}, invalid("printer", "not used with type \"order\": the flow prints to its own printer")
	}
	if j.Copies > 1 {
		return PushResult{}, invalid("copies", "not used with type \"order\": one label per parcel")
	}
	o, err := station.ParseOrder(j.Order)
	if err != nil {
		return PushResult{}, orderError(err)
	}
	if o.ID == "" {
		o.ID = j.ID
		if err := o.Validate(); err != nil {
			return PushResult{}, invalid("order.id", "required when the push id %q cannot be the order id (%v)", j.ID, err)
		}
	}
	if o.Source == "" {
		o.Source = "mqtt"
	}
	created, err := in.st.CreateOrder(ctx, o)
	var exists *station.OrderExistsError
	if errors.As(err, &exists) {
		if exists.Differs != "" {
			// The same id for another order: refused, never merged into
			// (or mistaken for) the order already taken.
			return PushResult{}, invalid("order."+exists.Differs, "order %q was already pushed with a different %s: an order id names one order; push a new id", o.ID, exists.Differs)
		}
		in.committed(j, false)
		in.log.Info("mqtt push already taken: the order exists (a redelivery or a repeated id)", "id", j.ID, "order", o.ID)
		return PushResult{Job: o.ID, Created: false}, nil
	}
	if errors.Is(err, station.ErrConflict) {
		return PushResult{}, invalid("order", "%v", err)
	}
	if err != nil {
		return PushResult{}, orderError(err)
	}
	in.committed(j, true)
	return PushResult{Job: created.ID, Created: true}, nil
}

// orderError makes the station's input errors rejections naming the
// field; anything else (storage) is left to be redelivered.
func orderError(err error) error {
	var fe *station.FieldError
	if errors.As(err, &fe) {
		return invalid("order."+fe.Field, "%s", fe.Rule)
	}
	if errors.Is(err, station.ErrInvalid) {
		return invalid("order", "%v", err)
	}
	return err
}

// committed runs after a push is durable.
func (in *StationIntake) committed(j PushJob, created bool) {
	if in.after != nil {
		in.after(j, created)
	}
}
