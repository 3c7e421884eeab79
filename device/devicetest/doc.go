// Package devicetest holds a ZPL printer emulator that speaks the real bytes
// (labels between ^XA and ^XZ, ~HS with its three STX/ETX lines, ~HQES), over
// loopback TCP and a pty for the serial path, plus an in-memory job source
// for the print worker. Tests and the `packbench printer-emulator` command
// use both; nothing here touches hardware.
package devicetest
