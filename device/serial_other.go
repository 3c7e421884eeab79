//go:build !linux

package device

func openFlowSetter(dev string) (flowSetter, error) {
	return nil, ErrNotSupported
}

func flowControlOf(dev string) (string, error) { return "", ErrNotSupported }
