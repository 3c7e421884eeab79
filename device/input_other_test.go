//go:build !linux

package device_test

// nativeTimevalSize: no kernel input_event to compare with.
func nativeTimevalSize() int { return 0 }
