package main

import (
	"context"
	"log/slog"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
)

// Messages to systemd (sd_notify(3)).
const (
	notifyReady    = sd.SdNotifyReady    // READY=1
	notifyStopping = sd.SdNotifyStopping // STOPPING=1
	notifyWatchdog = sd.SdNotifyWatchdog // WATCHDOG=1
)

// sdNotify tells systemd about the daemon's state; without NOTIFY_SOCKET
// (not run by systemd) it does nothing.
func sdNotify(log *slog.Logger, state string) {
	if _, err := sd.SdNotify(false, state); err != nil {
		log.Warn("systemd notify", "state", state, "err", err)
	}
}

// watchdog pings systemd at half the WatchdogSec interval for as long as
// alive says the bench is working (the queue answers). A wedged daemon
// stops pinging and systemd restarts it. Without a watchdog it returns at
// once.
func watchdog(ctx context.Context, log *slog.Logger, alive func(context.Context) error) error {
	interval, err := sd.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("systemd watchdog", "err", err)
		return nil
	}
	if interval <= 0 {
		return nil
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, interval/4)
		err := alive(cctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			log.Error("watchdog: bench not healthy, not pinging systemd", "err", err)
			continue
		}
		sdNotify(log, notifyWatchdog)
	}
}
