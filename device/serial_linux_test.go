package device

import (
	"testing"

	"github.com/creack/pty"
)

func TestSerialFlowControlApplied(t *testing.T) {
	for _, mode := range []string{"rtscts", "xonxoff", "none"} {
		t.Run(mode, func(t *testing.T) {
			master, slave, err := pty.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer master.Close()
			defer slave.Close()
			l, err := openSerial(slave.Name(), SerialConfig{Baud: 19200, DataBits: 8, Parity: "even", StopBits: "1", FlowControl: mode})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			got, err := flowControlOf(slave.Name())
			if err != nil {
				t.Fatal(err)
			}
			if got != mode {
				t.Fatalf("line flow control = %s, want %s", got, mode)
			}
		})
	}
	if _, err := openSerial("/nonexistent/ttyUSB9", SerialConfig{Baud: 9600, DataBits: 8, Parity: "none", StopBits: "1", FlowControl: "none"}); err == nil {
		t.Fatal("opened a missing port")
	}
}
