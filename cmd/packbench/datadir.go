package main

import (
	"os"

	"github.com/packbench/packbench/internal/datadir"
)

// defaultDataDir is where the bench keeps its data file when --data-dir is
// not given: $PACKBENCH_DATA_DIR, else the daemon's own default.
func defaultDataDir() (string, error) {
	return dataDirFrom(os.Getenv, os.UserHomeDir)
}

func dataDirFrom(getenv func(string) string, home func() (string, error)) (string, error) {
	if d := getenv("PACKBENCH_DATA_DIR"); d != "" {
		return d, nil
	}
	return datadir.Default(getenv, home)
}
