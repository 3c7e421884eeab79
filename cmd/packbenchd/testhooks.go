package main

// testExitAfterCommitEnv is a TEST HOOK, compiled in only with the
// packbench_testhooks build tag (testhooks_on.go) and off unless set to
// "1": the MQTT intake exits the process (status 3) right after a pushed
// job is committed and before the push is acknowledged to the broker, so a
// test can prove the broker redelivers it and the job still prints once.
// The production binary has no such hook (testhooks_off.go).
const testExitAfterCommitEnv = "PACKBENCH_TEST_EXIT_AFTER_COMMIT"
