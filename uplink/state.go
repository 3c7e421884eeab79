package uplink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
)

// stateMinGap spaces state checks woken by queue activity: a busy queue
// would otherwise republish the state per job.
const stateMinGap = time.Second

// stateLoop publishes the retained state on connect, and again whenever
// it changed: checked on StateChanged, after queue activity (at most once
// per stateMinGap) and every StateInterval.
func (m *MQTT) stateLoop(ctx context.Context, c paho.Client, lost <-chan struct{}) error {
	var last []byte
	for {
		payload, err := m.statePayload(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if !bytes.Equal(payload, last) {
			if err := waitToken(ctx, m.o.Clock, c.Publish(m.t.state, 1, true, payload), m.o.AckTimeout, lost); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("uplink: publish state: %w", err)
			}
			last = payload
		}
		select {
		case <-ctx.Done():
			return nil
		case <-lost:
			return nil
		case <-m.stateNow:
		case <-m.o.Clock.After(m.o.StateInterval):
		case <-m.deps.Queue.WaitEvents():
			select {
			case <-ctx.Done():
				return nil
			case <-lost:
				return nil
			case <-m.stateNow:
			case <-m.o.Clock.After(stateMinGap):
			}
		}
	}
}

func (m *MQTT) statePayload(ctx context.Context) ([]byte, error) {
	counts, err := m.deps.Queue.Counts(ctx)
	if err != nil {
		return nil, fmt.Errorf("uplink: state: %w", err)
	}
	p := statePayload{DeviceID: m.cfg.DeviceID, Queue: queueState{
		Depth:  counts[queue.StateQueued] + counts[queue.StateSending],
		Counts: counts,
	}}
	if m.deps.State != nil {
		p.BenchState = m.deps.State.State()
	}
	if p.Printers == nil {
		p.Printers = []PrinterState{}
	}
	return json.Marshal(p)
}

// weightLoop publishes weight readings at QoS 0: only when the reading
// changed (scale.Reading.SameAs, the API stream's rule too), at most one per weight_interval (the newest one
// wins), and the current one again after a reconnect. It keeps reading
// while disconnected so the scale link never waits on the broker.
func (m *MQTT) weightLoop(ctx context.Context) {
	interval := time.Duration(m.cfg.WeightInterval)
	var latest, sent scale.Reading
	var have, pending bool
	var lastSent time.Time
	var timer <-chan time.Time
	publish := func() {
		cp := m.client.Load()
		if cp == nil || !m.connected.Load() {
			return // republished on the next connect
		}
		payload, err := json.Marshal(latest)
		if err != nil {
			m.log.Error("mqtt: encode weight", "err", err)
			pending = false
			return
		}
		(*cp).Publish(m.t.weight, 0, false, payload) // QoS 0: nothing to wait for
		sent, pending, lastSent = latest, false, m.o.Clock.Now()
	}
	try := func() {
		if !pending || timer != nil {
			return
		}
		if wait := interval - m.o.Clock.Now().Sub(lastSent); wait > 0 {
			timer = m.o.Clock.After(wait)
			return
		}
		publish()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case r, ok := <-m.deps.Weights:
			if !ok {
				return
			}
			latest, have = r, true
			pending = pending || !r.SameAs(sent)
			try()
		case <-timer:
			timer = nil
			try()
		case <-m.connects:
			if have {
				pending = true
				lastSent = time.Time{}
				try()
			}
		}
	}
}
