package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/uplink"
)

// Link states in the health report (api.LinkHealth.State).
const (
	linkConnecting   = "connecting"         // no attempt finished yet
	linkConnected    = "connected"          // the broker connection is up
	linkDisconnected = api.LinkDisconnected // down; Error says why; retrying
	linkStopped      = api.LinkStopped      // the link gave up (see Error); the bench runs without it
)

// finishMQTT gives the link its device id: mqtt.device_id, else [bench]
// device_id, else one derived from /etc/machine-id; then checks the
// section. MQTT stays off while the url is empty; a section that sets
// anything else without a url is refused, so nobody believes the bench
// is syncing.
func (c *Config) finishMQTT() error {
	if !c.MQTT.Enabled() {
		if c.MQTT != (uplink.Config{}) {
			return errors.New("config: mqtt.url: required when [mqtt] sets anything (or set PACKBENCH_MQTT_URL); remove the section to run without MQTT")
		}
		return nil
	}
	if c.MQTT.DeviceID == "" {
		c.MQTT.DeviceID = c.Bench.DeviceID
	}
	if c.MQTT.DeviceID == "" {
		id, err := uplink.DeviceIDFromMachineID("")
		if err != nil {
			return fmt.Errorf("config: mqtt.device_id: set [bench] device_id or mqtt.device_id (%w)", err)
		}
		c.MQTT.DeviceID = id
	}
	if c.Bench.DeviceID == "" {
		c.Bench.DeviceID = c.MQTT.DeviceID
	}
	if err := c.MQTT.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return checkTLSFiles(c.MQTT)
}

// checkTLSFiles reads the TLS files at start: a CA file without a
// certificate, or a key that does not match its certificate, stops the
// daemon here instead of leaving the link down for good.
func checkTLSFiles(m uplink.Config) error {
	if m.CAFile != "" {
		pem, err := os.ReadFile(m.CAFile)
		if err != nil {
			return fmt.Errorf("config: mqtt.ca_file: %w", err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return fmt.Errorf("config: mqtt.ca_file: %s: no PEM certificate in it", m.CAFile)
		}
	}
	if m.CertFile != "" {
		if _, err := tls.LoadX509KeyPair(m.CertFile, m.KeyFile); err != nil {
			return fmt.Errorf("config: mqtt.cert_file and mqtt.key_file: %w", err)
		}
	}
	return nil
}

// mqttLink is the bench's MQTT link and what it reports to the health.
type mqttLink struct {
	link    *uplink.MQTT
	weights func() // ends the scale subscription feeding the weight topic

	mu      sync.Mutex
	stopped string // why Run gave up; "" while it runs
}

// openMQTT builds the link when [mqtt] url is set. Without it the
// outbox consumer "mqtt" is removed, so events are not kept for a link
// that is off.
func (b *bench) openMQTT(getenv func(string) string) error {
	if !b.cfg.MQTT.Enabled() {
		err := b.db.RemoveConsumer(context.Background(), uplink.DefaultConsumer)
		if err != nil && !errors.Is(err, queue.ErrNotFound) {
			return fmt.Errorf("mqtt off: %w", err)
		}
		return nil
	}
	io := &uplink.IntakeOptions{Logger: b.log}
	for _, p := range b.cfg.Printers {
		io.Printers = append(io.Printers, p.Name)
	}
	io.AfterCommit = testHookAfterCommit(b.log, getenv) // nil unless built with the test hooks
	in, err := uplink.NewStationIntake(b.station, b.db, io)
	if err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	cmds, err := uplink.NewBenchCommands(uplink.CommandDeps{Station: b.station, Jobs: b.db, Scale: b.link, Config: configView{b.cfg}, Firmware: firmwareAPI{b}},
		&uplink.CommandOptions{Printers: io.Printers, About: b.cfg.Bench.Name + ", version " + version})
	if err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	weights, cancel := b.link.Subscribe(64)
	link, err := uplink.New(b.cfg.MQTT, uplink.Deps{
		Queue: b.db, Intake: in, Commands: cmds, State: benchState{b},
		Weights: weights, Logger: b.log,
	}, &uplink.Options{Version: version})
	if err != nil {
		cancel()
		return fmt.Errorf("mqtt: %w", err)
	}
	b.mqtt = &mqttLink{link: link, weights: cancel}
	return nil
}

// runMQTT keeps the link up until ctx ends. A link that gives up (a CA
// file without a certificate in it) is logged and reported in the health;
// the bench goes on printing without it.
func (b *bench) runMQTT(ctx context.Context) error {
	defer b.mqtt.weights()
	err := b.mqtt.link.Run(ctx)
	if ctx.Err() != nil {
		return nil
	}
	b.log.Error("mqtt: link stopped; the bench goes on without it", "err", err)
	b.mqtt.mu.Lock()
	b.mqtt.stopped = err.Error()
	b.mqtt.mu.Unlock()
	return nil
}

// watchFlow tells the link when the flow's state changes, so the retained
// state topic follows it at once.
func (b *bench) watchFlow(ctx context.Context) error {
	ch, cancel := b.station.Subscribe()
	defer cancel()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return nil
		case fs, ok := <-ch:
			if !ok {
				return nil
			}
			// The state topic carries the flow and the LED's attention codes.
			if now := fs.State + "|" + strings.Join(fs.Attention, ","); now != last {
				last = now
				b.mqtt.link.StateChanged()
			}
		}
	}
}

// stateChanged is the printers' hook: a printer's state or reason changed.
func (b *bench) stateChanged() {
	if b.mqtt != nil {
		b.mqtt.link.StateChanged()
	}
}

// Links implements api.Links: the MQTT link's state for the health report.
func (b *bench) Links() []api.LinkHealth {
	if b.mqtt == nil {
		return nil
	}
	st := b.mqtt.link.Status()
	lh := api.LinkHealth{Name: "mqtt", State: linkDisconnected, Error: st.Error, Since: st.Since}
	switch {
	case st.Connected:
		lh.State = linkConnected
	case st.Since.IsZero():
		lh.State = linkConnecting
	}
	b.mqtt.mu.Lock()
	if b.mqtt.stopped != "" {
		lh.State, lh.Error = linkStopped, b.mqtt.stopped
	}
	b.mqtt.mu.Unlock()
	return []api.LinkHealth{lh}
}

// configView is the MQTT config-get command's view of the config.
type configView struct{ cfg Config }

func (v configView) ConfigView() any { return v.cfg.view() }

// benchState is the link's uplink.StateSource: cheap reads of what the
// printers' workers, the scale link and the station already hold.
type benchState struct{ b *bench }

func (s benchState) State() uplink.BenchState {
	ps := s.b.view.Printers()
	fs := s.b.station.State()
	st := uplink.BenchState{
		Printers:  make([]uplink.PrinterState, 0, len(ps)),
		Flow:      fs.State,
		Attention: fs.Attention,
		LED:       fs.LED,
		Blinks:    fs.Blinks,
		Firmware:  s.b.firmwareState(),
	}
	for _, p := range ps {
		st.Printers = append(st.Printers, uplink.PrinterState{Name: p.Name, State: string(p.State), Reason: p.Reason})
	}
	sc := &uplink.ScaleState{Source: s.b.cfg.Scale.Source(), Status: "no_reading"}
	if rd, ok := s.b.link.Latest(); ok {
		sc.Status = rd.Status.String()
	}
	st.Scale = sc
	return st
}

// mqttSummary is the link for the "bench ready" line: off, or the broker
// and the device id (never credentials).
func (b *bench) mqttSummary() string {
	if b.mqtt == nil {
		return "off"
	}
	return b.cfg.MQTT.URL + " as " + b.cfg.MQTT.DeviceID
}
