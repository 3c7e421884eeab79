package main

import (
	"context"
	"fmt"

	"github.com/packbench/packbench/station"
	"github.com/packbench/packbench/uplink"
)

// openWebhookStore makes the one subscription store the API and the
// delivery worker share.
func (b *bench) openWebhookStore() {
	b.hooks = station.NewWebhookStore(b.db, nil)
}

// openWebhooks builds the delivery worker; the API must exist (it renders
// Tracktor's bodies).
func (b *bench) openWebhooks() error {
	o := &uplink.WebhookOptions{Logger: b.log, Tracktor: b.api.TracktorWebhook}
	w, err := uplink.NewWebhooks(b.db, b.hooks, o)
	if err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	b.webhooks = w
	return nil
}

// runWebhooks delivers until ctx ends; the queue stays open until it returned
// (run's errgroup waits before close).
func (b *bench) runWebhooks(ctx context.Context) error {
	return b.webhooks.Run(ctx)
}
