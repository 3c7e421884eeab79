// Package scale reads shipping scales (USB HID POS, MT-SICS, NCI/SCP-01,
// Toledo polled and continuous, HX711 load cells, a simulator) as integer
// milligram readings, and turns a stream of readings into one Placed event per
// parcel with the stable-weight filter.
//
// The pieces, from the wire up:
//
//   - Parsers (ParseHIDReport, ParseMTSICS, ParseNCI, ParseToledo,
//     ParseToledoContinuous) are pure and fuzzed. Weights are exact:
//     value × 10^exp in the scale's unit, converted to milligrams with
//     integer arithmetic (1 oz = 28.349523125 g exactly), so 7.8 oz is
//     221126 mg and the label still says "7.8 oz". Serial parsers strip bit 7,
//     so a 7E1 scale on an 8N1 port reads correctly.
//   - Drivers implement Conn (Next, Zero, Tare, Close). NewOpener builds the
//     Opener for a Config; HID scales are found by their report descriptor
//     under /sys/class/hidraw (usage page 0x8D, usage 0x20), not by VID:PID,
//     and found again under a new hidraw number after a replug. Zero and Tare
//     return an error wrapping ErrNotSupported where the protocol has none.
//   - Link keeps a scale connected for the daemon's life: runOnce in a loop
//     with jittered backoff on an injected Clock, fanning readings out to
//     subscribers (newest wins for slow ones). Any failure is published as a
//     StatusFault reading carrying the error, never as 0 g.
//   - Filter decides: motion clear, within tolerance for the settle window,
//     at or above the minimum → one Placed; the next only after a steady
//     reading below the zero threshold (Removed). Faults and gaps are
//     "unknown": they restart settling and never re-arm.
//   - Simulator is a scale in software with scripts (place, bounce, settle,
//     creep, remove, off/on) for the API, the CLI, demos and tests.
//
// scale/scaletest holds the emulators the tests run the real drivers
// against: serial scales on a pty, HID scales on socketpairs behind a fake
// sysfs, an HX711 behind fake pins, and a fake clock.
package scale
