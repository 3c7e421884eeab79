package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// newStation builds the station on the queue with the config's [label],
// [carrier], [flow], [ship_from] and [commands] sections; sc is the scale
// the tare and zero command barcodes tell.
func newStation(cfg Config, db *queue.DB, log *slog.Logger, sc station.ScaleControl) (*station.Station, error) {
	names := make([]string, len(cfg.Printers))
	for i, p := range cfg.Printers {
		names[i] = p.Name
	}
	st, err := station.New(db, &station.Options{Config: cfg.Config, Logger: log, Printers: names,
		Scale: sc, About: cfg.Bench.Name + ", version " + version})
	if err != nil {
		return nil, fmt.Errorf("station: %w", err)
	}
	return st, nil
}

// runStation follows job states for the station until ctx ends.
func (b *bench) runStation(ctx context.Context) error {
	err := b.station.Run(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// labelPreview is the spool printer's PNG for a job: the station's preview
// of the label the job prints (the carrier's image, or the layout drawn).
func (b *bench) labelPreview(ctx context.Context, jobID string) ([]byte, error) {
	return b.station.LabelPNG(ctx, jobID)
}
