package device

import (
	"fmt"

	"periph.io/x/host/v3"
)

// hostInit loads periph's host drivers (sysfs/gpiochip, the SoC's
// registers). No GPIO chip at all is an ErrNoGPIO.
func hostInit() error {
	st, err := host.Init()
	if err != nil {
		return fmt.Errorf("%w: periph host init: %v", ErrNoGPIO, err)
	}
	if len(st.Loaded) == 0 {
		return fmt.Errorf("%w: no GPIO driver loaded", ErrNoGPIO)
	}
	return nil
}
