package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// dataFileName is the bbolt file inside the data directory.
const dataFileName = "packbench.db"

// defaultDataDir is where the bench keeps its data file when --data-dir is
// not given: $PACKBENCH_DATA_DIR, else systemd's $STATE_DIRECTORY, else
// $XDG_STATE_HOME/packbench, else ~/.local/state/packbench.
func defaultDataDir() (string, error) {
	return dataDirFrom(os.Getenv, os.UserHomeDir)
}

func dataDirFrom(getenv func(string) string, home func() (string, error)) (string, error) {
	if d := getenv("PACKBENCH_DATA_DIR"); d != "" {
		return d, nil
	}
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
