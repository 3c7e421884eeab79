// Package devicetest holds a ZPL printer emulator that speaks the real bytes
// (labels between ^XA and ^XZ, ~HS with its three STX/ETX lines, ~HQES), over
// loopback TCP and a pty for the serial path, plus an in-memory job source
// for the print worker, and barcode scanner emulators: a keyboard-mode USB
// scanner writing real input_event bytes (either layout) into a FIFO that
// can be unplugged and plugged back, and a serial scanner on a pty. Tests
// and the `packbench printer-emulator` command use them; nothing here
// touches hardware.
package devicetest
