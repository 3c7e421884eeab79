package scaletest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ScaleDescriptor is the start of a Dymo M10's report descriptor: Usage
// Page (Scale), Usage (Weighing Device), Collection (Application), ...
var ScaleDescriptor = []byte{0x05, 0x8d, 0x09, 0x20, 0xa1, 0x01, 0xa1, 0x02, 0x85, 0x01, 0x09, 0x30}

// KeyboardDescriptor starts a keyboard's descriptor: not a scale.
var KeyboardDescriptor = []byte{0x05, 0x01, 0x09, 0x06, 0xa1, 0x01}

// HIDBench is a fake machine with hidraw devices: a sysfs tree and /dev
// directory in temp dirs, and each device a SOCK_SEQPACKET socketpair,
// which keeps report boundaries the way hidraw does.
type HIDBench struct {
	Sysfs, Dev string

	mu   sync.Mutex
	devs map[string]*HIDScale // by /dev path
}

// HIDScale is one plugged device; the test writes reports into it.
type HIDScale struct {
	Name   string // hidrawN
	Path   string // Dev/hidrawN
	peer   *os.File
	driver *os.File
	bench  *HIDBench
}

// NewHIDBench makes the empty tree under dir.
func NewHIDBench(dir string) (*HIDBench, error) {
	b := &HIDBench{Sysfs: filepath.Join(dir, "sys"), Dev: filepath.Join(dir, "dev"), devs: map[string]*HIDScale{}}
	if err := os.MkdirAll(filepath.Join(b.Sysfs, "class", "hidraw"), 0o755); err != nil {
		return nil, err
	}
	return b, os.MkdirAll(b.Dev, 0o755)
}

// Plug adds hidrawN with the given report descriptor and uevent name.
func (b *HIDBench) Plug(n int, descriptor []byte, name string) (*HIDScale, error) {
	hn := fmt.Sprintf("hidraw%d", n)
	dir := filepath.Join(b.Sysfs, "class", "hidraw", hn, "device")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "report_descriptor"), descriptor, 0o644); err != nil {
		return nil, err
	}
	ue := "DRIVER=hid-generic\nHID_ID=0003:00000922:00008003\nHID_NAME=" + name + "\n"
	if err := os.WriteFile(filepath.Join(dir, "uevent"), []byte(ue), 0o644); err != nil {
		return nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	s := &HIDScale{Name: hn, Path: filepath.Join(b.Dev, hn), bench: b,
		driver: os.NewFile(uintptr(fds[0]), hn+"-driver"), peer: os.NewFile(uintptr(fds[1]), hn+"-device")}
	b.mu.Lock()
	b.devs[s.Path] = s
	b.mu.Unlock()
	return s, nil
}

// Open is the HIDOpener for the driver: it hands out the socket behind a
// plugged device's path, failing like open(2) for anything else.
func (b *HIDBench) Open(path string) (io.ReadWriteCloser, bool, error) {
	b.mu.Lock()
	s := b.devs[path]
	b.mu.Unlock()
	if s == nil {
		return nil, false, &os.PathError{Op: "open", Path: path, Err: syscall.ENOENT}
	}
	return eioOnHangup{s.driver}, true, nil
}

// Send writes one input report.
func (s *HIDScale) Send(report []byte) error {
	_, err := s.peer.Write(report)
	return err
}

// ReadOutput waits up to timeout for an output report from the driver.
func (s *HIDScale) ReadOutput(timeout time.Duration) ([]byte, error) {
	if err := s.peer.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	buf := make([]byte, 64)
	n, err := s.peer.Read(buf)
	return buf[:n], err
}

// Unplug removes the device: its sysfs entry goes, and the driver's next
// read fails with EIO as hidraw's does.
func (s *HIDScale) Unplug() error {
	s.bench.mu.Lock()
	delete(s.bench.devs, s.Path)
	s.bench.mu.Unlock()
	err := os.RemoveAll(filepath.Join(s.bench.Sysfs, "class", "hidraw", s.Name))
	return errors.Join(err, s.peer.Close())
}

// eioOnHangup turns the socket's end-of-file into EIO, which is what a
// read on an unplugged hidraw node returns.
type eioOnHangup struct{ f *os.File }

func (e eioOnHangup) Read(p []byte) (int, error) {
	n, err := e.f.Read(p)
	if n == 0 && (err == nil || errors.Is(err, io.EOF)) {
		return 0, &os.PathError{Op: "read", Path: e.f.Name(), Err: syscall.EIO}
	}
	return n, err
}

func (e eioOnHangup) Write(p []byte) (int, error) { return e.f.Write(p) }
func (e eioOnHangup) Close() error                { return e.f.Close() }
