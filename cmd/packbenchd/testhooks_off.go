//go:build !packbench_testhooks

package main

import (
	"log/slog"

	"github.com/packbench/packbench/uplink"
)

// testHookAfterCommit is nil in the production binary: the crash hook
// exists only in a build with the packbench_testhooks tag.
func testHookAfterCommit(*slog.Logger, func(string) string) func(uplink.PushJob, bool) { return nil }
