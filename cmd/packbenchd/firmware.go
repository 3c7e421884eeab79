package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/firmware"
	"github.com/packbench/packbench/internal/datadir"
	"github.com/packbench/packbench/internal/duration"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/uplink"
)

// FirmwareConfig is [firmware].
type FirmwareConfig struct {
	// Key is the trusted release key: "RW..." or a key file; empty means
	// firmware.DefaultTrustedKey. Without a readable key every update is
	// refused; the bench still runs.
	Key       string            `toml:"key" json:"key"`
	Window    duration.Duration `toml:"window" json:"window"`         // 5m to report healthy
	MaxStarts int               `toml:"max_starts" json:"max_starts"` // 3 starts to do so
}

// envFirmwareBooted marks a process started by the boot check (packbenchd
// replacing itself with an installed version): it must not run the check
// again, which would count its start twice.
const envFirmwareBooted = "PACKBENCH_FIRMWARE_BOOTED"

// exitRestart is the exit status after an update was switched to: systemd
// (Restart=on-failure) starts the bench again, and the boot check runs
// the new version.
const exitRestart = 75

// errRestart ends the daemon so it starts again into a new version.
var errRestart = errors.New("firmware switched: restarting into the new version")

func firmwareStore(cfg Config, log *slog.Logger, events func(firmware.Event)) *firmware.Store {
	o := &firmware.Options{MaxStarts: cfg.Firmware.MaxStarts, Running: version, Events: events}
	if k, err := firmware.TrustedKey(cfg.Firmware.Key); err == nil {
		o.Key = &k
	} else if cfg.Firmware.Key != "" || !errors.Is(err, os.ErrNotExist) {
		log.Warn("firmware: no trusted key: updates are refused", "err", err)
	}
	return firmware.Open(filepath.Join(cfg.Bench.DataDir, datadir.FirmwareDir), o)
}

// firmwareBoot is the start path's boot check: it finishes or rolls back
// an interrupted update and, when an installed version is current, runs
// it in this process's place (same PID, so systemd's notify socket and
// watchdog follow). It returns the version this process must gate: its
// own, when that is pending; "" otherwise. A broken store never stops the
// bench: it logs and runs this binary.
func firmwareBoot(cfg Config, args []string, getenv func(string) string, log *slog.Logger) string {
	s := firmwareStore(cfg, log, nil)
	if getenv(envFirmwareBooted) == "" {
		boot, err := s.BootCheck()
		if err != nil {
			log.Error("firmware: boot check failed: running this binary", "err", err)
			return ""
		}
		if boot.Binary != "" && !sameFile(boot.Binary) {
			log.Info("firmware: starting the installed version", "version", boot.Version, "pending", boot.Pending, "start", boot.Starts)
			err := execBinary(boot.Binary, args, append(os.Environ(), envFirmwareBooted+"="+boot.Version))
			// Only a failed exec comes back.
			log.Error("firmware: cannot start the installed version", "version", boot.Version, "err", err)
			if boot.Pending {
				if rerr := s.Rollback(fmt.Sprintf("could not be started: %v", err)); rerr != nil {
					log.Error("firmware: rollback", "err", rerr)
				}
			}
			return ""
		}
	}
	st, err := s.Status()
	if err != nil {
		log.Error("firmware: status", "err", err)
		return ""
	}
	if st.Pending != nil && st.Pending.Version == version {
		return version
	}
	return ""
}

func sameFile(path string) bool {
	self, err := os.Executable()
	if err != nil {
		return false
	}
	a, err1 := os.Stat(self)
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// gateFirmware commits the pending version once the bench is healthy, or
// rolls it back when the window closes first (errRolledBack ends the
// daemon with an error, and the restart runs the previous version).
func (b *bench) gateFirmware(ctx context.Context) error {
	err := b.fw.Gate(ctx, b.opts.FirmwarePending, func() error { return b.firmwareHealthy(ctx) },
		&firmware.GateOptions{Window: b.cfg.Firmware.Window.Std()})
	switch {
	case err == nil:
		b.log.Info("firmware: healthy: update committed", "version", b.opts.FirmwarePending)
		b.stateChanged()
		return nil
	case errors.Is(err, context.Canceled):
		return nil
	case errors.Is(err, firmware.ErrRolledBack):
		b.log.Error("firmware: not healthy in time: rolled back; restarting into the previous version", "err", err)
		return err
	}
	b.log.Error("firmware: gate", "err", err)
	return nil
}

// firmwareHealthy is the gate's health: the bench is ready (the gate runs
// after READY), the queue answers, every printer was probed, and the MQTT
// link is connected when one is configured.
func (b *bench) firmwareHealthy(ctx context.Context) error {
	if err := b.alive(ctx); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	for _, p := range b.cfg.Printers {
		if _, ok := b.view.get(p.Name); !ok {
			return fmt.Errorf("printer %q not probed yet", p.Name)
		}
	}
	for _, l := range b.Links() {
		if l.State != linkConnected {
			return fmt.Errorf("%s link %s", l.Name, l.State)
		}
	}
	return nil
}

// firmwareEvent writes a firmware event to the outbox (MQTT events,
// webhooks) as firmware.<type>, and follows a running update's step for
// the state; progress goes to the state only.
func (b *bench) firmwareEvent(e firmware.Event) {
	b.fwMu.Lock()
	if b.fwUpdate != nil {
		switch e.Type {
		case "progress":
			b.fwUpdate.Done, b.fwUpdate.Total = e.Done, e.Total
		case "verified", "staged", "switched":
			b.fwUpdate.Step = e.Type
		}
	}
	b.fwMu.Unlock()
	if e.Type != "progress" && b.db != nil {
		if err := appendFirmwareEvent(b.db, e); err != nil {
			b.log.Warn("firmware: event", "type", e.Type, "err", err)
		}
	}
	b.stateChanged()
}

// firmwareState is the firmware part of the MQTT state.
func (b *bench) firmwareState() uplink.FirmwareState {
	fs := uplink.FirmwareState{Installed: version}
	if b.fw == nil {
		return fs
	}
	if st, err := b.fw.Status(); err == nil {
		if st.Pending != nil {
			fs.Pending = st.Pending.Version
		}
		if st.Last != nil {
			fs.Last = &uplink.FirmwareOutcome{Version: st.Last.Version, Result: st.Last.Result, Reason: st.Last.Reason}
		}
	}
	b.fwMu.Lock()
	defer b.fwMu.Unlock()
	if b.fwUpdate != nil {
		u := *b.fwUpdate
		fs.Update = &u
	}
	if b.fwFailed != nil {
		fs.Last = b.fwFailed
	}
	return fs
}

// firmwareAPI is the API's and the MQTT command's way to the store: an
// update that switched restarts the daemon into the new version.
type firmwareAPI struct{ b *bench }

var (
	_ api.Firmware           = firmwareAPI{}
	_ uplink.CommandFirmware = firmwareAPI{}
)

func (f firmwareAPI) Status() (firmware.Status, error) { return f.b.fw.Status() }

func (f firmwareAPI) ApplyURL(ctx context.Context, url string, sig []byte) (firmware.Result, error) {
	return f.run(func() (firmware.Result, error) { return f.b.fw.ApplyURL(ctx, nil, url, sig) })
}

func (f firmwareAPI) ApplyStream(ctx context.Context, manifest, manifestSig, binarySig []byte, binary io.Reader) (firmware.Result, error) {
	return f.run(func() (firmware.Result, error) {
		return f.b.fw.ApplyStream(ctx, manifest, manifestSig, binarySig, binary)
	})
}

// StartUpdate runs ApplyURL in the background (cmd/firmware.update).
func (f firmwareAPI) StartUpdate(url string, sig []byte) (any, error) {
	f.b.fwMu.Lock()
	busy, ctx := f.b.fwUpdate != nil, f.b.runCtx
	f.b.fwMu.Unlock()
	if busy {
		return nil, errors.New("an update is already running")
	}
	if ctx == nil {
		return nil, errors.New("the bench is not running")
	}
	go f.ApplyURL(ctx, url, sig)
	return map[string]any{"started": true, "url": url}, nil
}

// run applies one update at a time, keeps its step for the state, and
// restarts the bench after a switch.
func (f firmwareAPI) run(apply func() (firmware.Result, error)) (firmware.Result, error) {
	b := f.b
	b.fwMu.Lock()
	if b.fwUpdate != nil {
		b.fwMu.Unlock()
		return firmware.Result{}, fmt.Errorf("%w: an update is already running", firmware.ErrPending)
	}
	b.fwUpdate, b.fwFailed = &uplink.FirmwareUpdate{Step: "downloading"}, nil
	b.fwMu.Unlock()
	b.stateChanged()
	res, err := apply()
	b.fwMu.Lock()
	b.fwUpdate = nil
	if err != nil {
		b.fwFailed = &uplink.FirmwareOutcome{Result: "refused", Reason: err.Error()}
	}
	b.fwMu.Unlock()
	b.stateChanged()
	if err != nil {
		b.log.Warn("firmware: update refused or failed", "err", err)
		return res, err
	}
	b.log.Info("firmware: switched: restarting into the new version", "version", res.Version, "previous", res.Previous)
	b.restartOnce.Do(func() { close(b.restart) })
	return res, nil
}

// appendFirmwareEvent records e in the outbox as firmware.<type>, with the
// event itself as data.
func appendFirmwareEvent(db *queue.DB, e firmware.Event) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return db.Update(func(tx *queue.Tx) error {
		_, err := tx.AppendEvent(queue.Event{Type: "firmware." + e.Type, Reason: e.Reason, Data: data})
		return err
	})
}
