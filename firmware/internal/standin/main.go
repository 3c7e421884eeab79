// Command standin plays a packbenchd release in the firmware tests: it
// speaks the same health protocol (firmware.Store.Gate) and behaves as
// its build-time mode says: good, exit, hang or unhealthy.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/packbench/packbench/firmware"
)

// Set with -ldflags -X.
var (
	version = "0.0.0"
	mode    = "good"
)

func main() {
	fmt.Println("version", version)
	st := firmware.Open(os.Getenv("PACKBENCH_FW_DIR"), nil)
	switch mode {
	case "good":
		if err := st.Gate(context.Background(), version, func() error { return nil }, nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "exit":
		os.Exit(3)
	case "hang":
		fmt.Println("up")
		select {}
	case "unhealthy":
		// A short real window: the outcome does not depend on it, since
		// health never comes.
		err := st.Gate(context.Background(), version, func() error { return errors.New("printer not probed") },
			&firmware.GateOptions{Window: 20 * time.Millisecond, Poll: 5 * time.Millisecond})
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
