package uplink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/packbench/packbench/queue"
)

// ackDelay is how long the durable cursor may lag what the broker
// acknowledged. Each cursor write is an fsync; writing it per event would
// double the disk flushes of every job. A crash inside the lag only
// republishes events, which receivers drop by id.
const ackDelay = 100 * time.Millisecond

// drain publishes the outbox to the events topic for as long as the
// connection lives. Each event goes out at QoS 1 with its id in the
// payload, in order. sent only moves over a contiguous prefix whose
// PUBACKs arrived while the connection was still open, and the durable
// consumer cursor follows sent (at most ackDelay or one window behind).
// Anything in doubt is published again on the next connection.
func (m *MQTT) drain(ctx context.Context, c paho.Client, lost <-chan struct{}) error {
	db := m.deps.Queue
	var sent, acked uint64 // this connection's PUBACKed prefix, and the cursor on disk
	var ackDue <-chan time.Time
	flush := func() error {
		ackDue = nil
		if sent <= acked {
			return nil
		}
		// Without ctx's cancel: at shutdown, what the broker has is still
		// worth recording.
		if err := db.Ack(context.WithoutCancel(ctx), m.o.Consumer, sent); err != nil {
			if errors.Is(err, queue.ErrClosed) {
				return nil
			}
			return fmt.Errorf("uplink: ack outbox: %w", err)
		}
		acked = sent
		return nil
	}
	defer func() { _ = flush() }() // what the broker has, on disk before we go
	toks := make([]paho.Token, 0, m.o.Window)
	for {
		wake := db.WaitEvents() // before Events, so nothing slips between
		all, err := db.Events(ctx, m.o.Consumer, 2*m.o.Window)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("uplink: read outbox: %w", err)
		}
		evs := all[:0:0]
		for _, ev := range all {
			if ev.ID > sent {
				evs = append(evs, ev)
			}
		}
		evs = evs[:min(len(evs), m.o.Window)]
		if len(evs) == 0 {
			if sent > acked && ackDue == nil {
				ackDue = m.o.Clock.After(ackDelay)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-lost:
				return nil
			case <-ackDue:
				if err := flush(); err != nil {
					return err
				}
				continue
			case <-wake:
				continue
			}
		}
		toks = toks[:0]
		for _, ev := range evs {
			payload, err := json.Marshal(ev)
			if err != nil {
				return fmt.Errorf("uplink: encode event %d: %w", ev.ID, err)
			}
			toks = append(toks, c.Publish(m.t.events, 1, false, payload))
		}
		var upto uint64
		var failed error
		for i, tok := range toks {
			if err := waitToken(ctx, m.o.Clock, tok, m.o.AckTimeout, lost); err != nil {
				failed = err
				break
			}
			upto = evs[i].ID
		}
		// A token can complete without error just as the connection
		// drops; only a live connection vouches for the PUBACKs.
		if upto > 0 && c.IsConnectionOpen() {
			sent = upto
		}
		if failed != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("uplink: publish events: %w", failed)
		}
		if sent-acked >= uint64(m.o.Window) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// Event is what arrives on a bench's events topic: a queue outbox event.
type Event = queue.Event
