//go:build !linux

package scale

import "fmt"

func openHX711Pins(cfg HX711Config) (HX711Pins, error) {
	return HX711Pins{}, fmt.Errorf("hx711: %w: GPIO needs Linux", ErrNotSupported)
}
