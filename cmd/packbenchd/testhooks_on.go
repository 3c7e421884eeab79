//go:build packbench_testhooks

package main

import (
	"log/slog"
	"os"

	"github.com/packbench/packbench/uplink"
)

// testHookAfterCommit is the crash hook of testExitAfterCommitEnv.
func testHookAfterCommit(log *slog.Logger, getenv func(string) string) func(uplink.PushJob, bool) {
	if getenv(testExitAfterCommitEnv) != "1" {
		return nil
	}
	log.Warn("TEST HOOK " + testExitAfterCommitEnv + "=1: the daemon exits after committing the first pushed job, before acknowledging it")
	return func(j uplink.PushJob, created bool) {
		log.Warn("TEST HOOK: exiting after the commit, before the acknowledgement", "id", j.ID, "created", created)
		os.Exit(3)
	}
}
