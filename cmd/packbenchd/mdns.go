package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/packbench/packbench/internal/datadir"
	"github.com/packbench/packbench/uplink"
)

// applyMDNSEnv is PACKBENCH_MDNS: [mdns] enabled.
func applyMDNSEnv(c *Config, v string) error {
	on, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("want true or false, got %q", v)
	}
	c.MDNS.Enabled = on
	return nil
}

// mdnsAnnouncer is the LAN announcement of the bench, or nil when [mdns] is
// off or the API listens on loopback only (nobody on the LAN could reach
// what it would announce).
func (b *bench) mdnsAnnouncer() *uplink.Announcer {
	if !b.cfg.MDNS.Enabled {
		return nil
	}
	ta, ok := b.ln.Addr().(*net.TCPAddr)
	if !ok {
		return nil
	}
	if ta.IP.IsLoopback() {
		b.log.Info("mdns: not announced: the API listens on loopback only; set [api] listen (or --listen) to 0.0.0.0:PORT to be found on the LAN", "listen", b.addr())
		return nil
	}
	return uplink.NewAnnouncer(b.cfg.MDNS, uplink.MDNSBench{
		ID: b.cfg.Bench.DeviceID, Name: b.cfg.Bench.Name, Version: version,
		APIPort: ta.Port, Raw9100Port: b.raw9100Port(),
	}, &uplink.MDNSOptions{Logger: b.log})
}

// mdnsHosts are the names the announcement sends browsers to, which the
// API's Host check must accept: <host>.local and the variants a collision
// picks, the host being [mdns] host or the machine's host name as one DNS
// label.
func mdnsHosts(c uplink.MDNSConfig, hostname func() (string, error)) []string {
	h := c.Host
	if h == "" {
		name, err := hostname()
		if err != nil || name == "" {
			return nil
		}
		h = uplink.HostLabel(name)
	}
	return uplink.MDNSHostNames(h)
}

// raw9100Port is the raw ZPL listener's bound port to announce as
// _pdl-datastream._tcp; 0 while it is off.
func (b *bench) raw9100Port() int {
	if b.rawLn == nil {
		return 0
	}
	if ta, ok := b.rawLn.Addr().(*net.TCPAddr); ok {
		return ta.Port
	}
	return 0
}

// writeURLRecord records where the API listens (the bound address, a
// port 0 resolved) in the data dir, so the CLI on this machine finds the
// daemon without flags. Written atomically; a failure is logged, not
// fatal: the CLI still has --url and discovery.
func (b *bench) writeURLRecord() {
	u, err := datadir.LocalURL(b.addr())
	if err == nil {
		err = writeFileAtomic(b.cfg.Bench.DataDir, datadir.URLFile, []byte(u+"\n"))
	}
	if err != nil {
		b.log.Warn("could not record the API address for the CLI", "file", filepath.Join(b.cfg.Bench.DataDir, datadir.URLFile), "err", err)
	}
}

// removeURLRecord removes the record at a clean stop, if it is still ours
// (a second daemon on another data dir never shares the file, but a
// restarted one may already have replaced it).
func (b *bench) removeURLRecord() {
	path := filepath.Join(b.cfg.Bench.DataDir, datadir.URLFile)
	got, err := os.ReadFile(path)
	if err != nil {
		return
	}
	u, _ := datadir.LocalURL(b.addr())
	if strings.TrimSpace(string(got)) != u {
		return
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		b.log.Warn("remove the API address record", "file", path, "err", err)
	}
}
