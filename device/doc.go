// Package device drives thermal label printers (USB printer class, raw TCP
// 9100, serial, spool folder), reads their real status with ZPL ~HS, runs one
// print worker per printer, reads barcode scanners (Linux input, serial),
// and handles the bench's GPIO button, LED and buzzer.
//
// # Printers
//
// Open(PrinterConfig) returns a Printer for one of four transports: "usb"
// (/dev/usb/lpN through usblp; ~HS replies are read back on the same node;
// with Match the node is found again by its IEEE 1284 id after a replug),
// "tcp" (raw port 9100), "serial" (go.bug.st/serial with baud, data bits,
// parity, stop bits and RTS/CTS or XON/XOFF flow control) and "spool" (a
// folder; the embedded default's printer). Printers connect lazily and
// reconnect by themselves: after any failure the next call dials again.
// A printer that stops reading (paused, flow control, full buffer) never
// hangs a caller: every write has a deadline (SendTimeout for a job,
// StatusTimeout for a status query) and is cut by the caller's context, a
// call waiting for its turn gives up with its context, and Close cuts a
// blocked call at once.
//
// # Status
//
// Status sends ~HS and parses all three lines into a Status (ParseHostStatus).
// A Zebra printer does not answer ~HS in media out, ribbon out, head open or
// head over-temperature, so no reply within the status timeout is the
// StateNoReply error state, never "ok"; ~HQES is then asked for the reason
// (ParseExtendedStatus). A printer that cannot report (NoStatus, a
// unidirectional USB printer) says StateUnknown with ErrNoStatus. The spool
// printer reports ready while its folder is writable.
//
// # Worker
//
// A Worker takes jobs from a JobSource (the queue, adapted by
// station.JobSource) in order. The rules are on Worker: blocking printer states hold the queue
// (JobSource.Hold, no retry used) and are polled with backoff until fixed;
// sends that fail before any byte are retried; a connection lost after part
// of a job makes it Uncertain (never resent by itself); after the last byte
// the worker polls status until nothing is left in the printer's buffer:
// Printed, or Sent where the printer cannot confirm. Each copy of a
// multi-copy job is recorded through the source's CopyRecorder before the
// next is sent, so a restart or a retry never prints a copy twice. Before
// the first byte of a claim, once the printer is ready, the source's
// TransmitRecorder is told (write-ahead), so a job claimed while the printer
// was out of paper goes back to the queue after a crash instead of being
// left uncertain. A spooled job is
// Printed once its file is fsynced and renamed into place, because nothing
// further can happen to it.
//
// # Discovery
//
// DiscoverUSB reads USB printers and their IEEE 1284 ids (MFG/MDL/CMD or
// the long forms) from sysfs; DiscoverSerial lists serial ports through
// go.bug.st/serial/enumerator.
//
// # Scanners
//
// A Scanner reads codes from a USB barcode scanner in keyboard mode through
// Linux input (/dev/input/by-id/...-event-kbd) or from a serial scanner
// (one line per scan), and hands each code to Run's callback. The input
// device is taken exclusively with EVIOCGRAB so scans never reach a console
// or the kiosk's other fields; a FIFO or pty carrying the same bytes is
// read the same way without the grab. A scanner that vanishes (ENODEV after
// a USB reset, EOF, EIO) is reopened with backoff until it returns.
//
// The evdev side is written by hand, on golang.org/x/sys/unix only: the Go
// evdev libraries either need cgo (none is allowed: the bench is built with
// CGO_ENABLED=0 for ARM) or were refused for the project, and what is needed
// is small: struct input_event is a timeval (two C longs: 24-byte events on
// 64-bit, 16 on 32-bit ARM; EventLayout, decoded on any host for either),
// EV_KEY codes turned into characters by a layout's Keymap (us, uk, de,
// fr, with shift, caps lock, AltGr and dead keys), and one ioctl.
//
// # GPIO
//
// OpenGPIO initialises periph (host.Init, Linux only) and opens the named
// pins: a debounced Button (short press reprint, long press confirm), an LED
// Output playing LEDPattern(state), and a buzzer Output. A missing pin or GPIO
// chip is an error wrapping ErrNoGPIO that the caller logs once; the rest of
// the bench runs without it.
//
// The printer emulator, the keyboard and serial scanner emulators, an
// in-memory JobSource and a manual Clock for tests are in package
// devicetest.
package device
