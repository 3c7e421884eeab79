// Package device drives thermal label printers (USB printer class, raw TCP
// 9100, serial, spool folder), reads their real status with ZPL ~HS, runs one
// print worker per printer, and handles the bench's GPIO button, LED and buzzer.
package device
