// Package scale reads shipping scales (USB HID POS, MT-SICS, NCI/SCP-01,
// Toledo polled and continuous, HX711 load cells, a simulator) as integer
// milligram readings, and turns a stream of readings into one Placed event per
// parcel with the stable-weight filter.
package scale
