// Package datadir says where a bench keeps its files: packbenchd writes
// them and the packbench CLI reads them (the queue file when the daemon is
// stopped, the generated API key), so both take the names and the default
// directory from here and cannot drift apart.
package datadir

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
)

// Files inside the data directory.
const (
	DataFile = "packbench.db" // the bbolt file
	KeyFile  = "api-key"      // a generated API key, mode 0600
	SpoolDir = "spool"        // the embedded default's spool printer
	// URLFile holds the running daemon's API as a URL the CLI on the same
	// machine can use (one line, e.g. "http://127.0.0.1:8080"): written
	// when the daemon is listening, removed when it stops cleanly.
	URLFile     = "api-url"
	FirmwareDir = "firmware" // installed firmware versions (package firmware)
)

// LocalURL is the URL a client on the same machine reaches an API bound to
// addr (host:port, the real bound address) at: a wildcard address becomes
// loopback (127.0.0.1 also for "[::]", which Go's "tcp" listener binds
// dual-stack).
func LocalURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("api address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// Default is the data directory when no flag, PACKBENCH_DATA_DIR or config
// names one: systemd's $STATE_DIRECTORY, else $XDG_STATE_HOME/packbench,
// else ~/.local/state/packbench.
func Default(getenv func(string) string, home func() (string, error)) (string, error) {
	// systemd passes one path per StateDirectory= entry, colon-separated;
	// the first is ours.
	if d, _, _ := strings.Cut(getenv("STATE_DIRECTORY"), ":"); d != "" {
		return d, nil
	}
	// The XDG spec says to ignore a relative XDG_STATE_HOME.
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "packbench"), nil
	}
	h, err := home()
	if err == nil && h == "" {
		err = errors.New("empty home directory")
	}
	if err != nil {
		return "", fmt.Errorf("no data directory: pass --data-dir or set PACKBENCH_DATA_DIR (%w)", err)
	}
	return filepath.Join(h, ".local", "state", "packbench"), nil
}
