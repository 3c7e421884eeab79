package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Files inside the data directory.
const (
	dataFileName = "packbench.db" // the bbolt file
	spoolDirName = "spool"        // the embedded default's spool printer
	keyFileName  = "api-key"      // a generated API key, mode 0600
)

// defaultDataDir is the data directory when neither --data-dir,
// PACKBENCH_DATA_DIR nor [bench] data_dir names one: systemd's
// $STATE_DIRECTORY, else $XDG_STATE_HOME/packbench, else
// ~/.local/state/packbench. (The same lookup as cmd/packbench's, which puts
// PACKBENCH_DATA_DIR first; here the environment is applied as an override
// before this is asked.)
func defaultDataDir(getenv func(string) string, home func() (string, error)) (string, error) {
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
