// Package scaletest emulates scales for tests and demos: serial scales that
// speak the exact bytes of MT-SICS, NCI/SCP-01 (and its 3825 three-status-
// byte variant), Toledo 8213 polled and Toledo continuous output over a pty
// (optionally with 7E1 parity bits as an 8N1 reader sees them); USB HID POS
// scales as SOCK_SEQPACKET socketpairs behind a fake sysfs tree that can be
// unplugged and replugged under a new hidraw number; an HX711 behind two
// fake GPIO pins. The manual clock the tests inject is internal/clocktest.
package scaletest
