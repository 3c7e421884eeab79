//go:build !linux

package main

// fileLimit is unknown here: the configured cap stands.
func fileLimit() (uint64, bool) { return 0, false }
