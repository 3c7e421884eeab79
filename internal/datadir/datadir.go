// Package datadir says where a bench keeps its files: packbenchd writes
// them and the packbench CLI reads them (the queue file when the daemon is
// stopped, the generated API key), so both take the names and the default
// directory from here and cannot drift apart.
package datadir

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Files inside the data directory.
const (
	DataFile    = "packbench.db" // the bbolt file
	KeyFile     = "api-key"      // a generated API key, mode 0600
	SpoolDir    = "spool"        // the embedded default's spool printer
	FirmwareDir = "firmware"     // installed firmware versions (package firmware)
)

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
