package device_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/device/devicetest"
)

func TestStatusNoReplyIsAnErrorState(t *testing.T) {
	ctx := testCtx(t)
	// A printer that takes bytes and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 512)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	p := tcpPrinter(t, ln.Addr().String())
	start := time.Now()
	st, err := p.Status(ctx)
	if !errors.Is(err, device.ErrNoReply) || st.State != device.StateNoReply || !st.State.Blocking() {
		t.Fatalf("silent printer: %+v, %v; want no_reply with ErrNoReply", st, err)
	}
	if el := time.Since(start); el < testStatusTimeout {
		t.Fatalf("gave up after %v, before the %v status timeout", el, testStatusTimeout)
	}
	if !strings.Contains(st.Reason, "no reply") {
		t.Fatalf("reason %q", st.Reason)
	}
}

func TestStatusFromEmulator(t *testing.T) {
	ctx := testCtx(t)
	emu := devicetest.NewEmulator(nil)
	defer emu.Close()
	addr, _ := emu.ListenTCP("127.0.0.1:0")
	p := tcpPrinter(t, addr)
	st, err := p.Status(ctx)
	if err != nil || st.State != device.StateReady || !st.Idle() {
		t.Fatalf("ready printer: %+v, %v", st, err)
	}
	// Paper out: ~HS is silent, ~HQES tells why.
	emu.SetPaperOut(true)
	st, err = p.Status(ctx)
	if err != nil || st.State != device.StatePaperOut || st.Errors&device.ErrFlagMediaOut == 0 {
		t.Fatalf("paper out: %+v, %v", st, err)
	}
	emu.SetPaperOut(false)
	emu.SetHeadOpen(true)
	if st, _ = p.Status(ctx); st.State != device.StateHeadOpen {
		t.Fatalf("head open: %+v", st)
	}
	emu.SetHeadOpen(false)
	// The late-reply guard: after a silent ~HS the next answer is current.
	if st, err = p.Status(ctx); err != nil || st.State != device.StateReady {
		t.Fatalf("after head closed: %+v, %v", st, err)
	}

	// Without ~HQES the silence itself is the answer.
	p2, err := device.Open(device.PrinterConfig{Name: "nohqes", Transport: "tcp", Address: addr, NoHQES: true,
		StatusTimeout: device.Duration(testStatusTimeout)})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	emu.SetPaperOut(true)
	if st, err = p2.Status(ctx); !errors.Is(err, device.ErrNoReply) || st.State != device.StateNoReply {
		t.Fatalf("paper out without ~HQES: %+v, %v", st, err)
	}
	emu.SetPaperOut(false)

	// Offline: nothing listening.
	emu.PowerOff()
	// The first call may still find the old connection and see it drop;
	// either way the state is offline, and the next call fails to dial.
	if st, err = p.Status(ctx); err == nil || st.State != device.StateOffline {
		t.Fatalf("powered off: %+v, %v", st, err)
	}
	if st, err = p.Status(ctx); !errors.Is(err, device.ErrOffline) || st.State != device.StateOffline {
		t.Fatalf("powered off, second call: %+v, %v", st, err)
	}
	if n, err := p.Send(ctx, []byte("^XA^XZ")); n != 0 || !errors.Is(err, device.ErrOffline) {
		t.Fatalf("send while off: %d, %v", n, err)
	}
	if err := emu.PowerOn(); err != nil {
		t.Fatal(err)
	}
	if st, err = p.Status(ctx); err != nil || st.State != device.StateReady {
		t.Fatalf("after power on: %+v, %v", st, err)
	}
	p.Close()
	if _, err := p.Status(ctx); !errors.Is(err, device.ErrClosed) {
		t.Fatalf("status after Close: %v", err)
	}
}

// The usblp node is a bidirectional character device; a pty is one too, so
// the USB transport is driven through one here.
func TestUSBTransportOnCharacterDevice(t *testing.T) {
	ctx := testCtx(t)
	emu := devicetest.NewEmulator(nil)
	defer emu.Close()
	path, err := emu.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	p, err := device.Open(device.PrinterConfig{Name: "usb", Transport: "usb", Device: path,
		StatusTimeout: device.Duration(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if n, err := p.Send(ctx, label("usb-1", 40)); err != nil || n != len(label("usb-1", 40)) {
		t.Fatalf("send: %d, %v", n, err)
	}
	if err := emu.WaitLabels(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if st, err := p.Status(ctx); err != nil || st.State.Blocking() {
		t.Fatalf("status: %+v, %v", st, err)
	}
	p2, _ := device.Open(device.PrinterConfig{Name: "usb", Transport: "usb", Device: "/nonexistent/lp9"})
	if _, err := p2.Status(ctx); !errors.Is(err, device.ErrOffline) {
		t.Fatalf("missing node: %v", err)
	}
}

// plugUSB makes a fake sysfs entry class/usbmisc/<name> with a Zebra's
// IEEE 1284 id and a /dev/usb-like node <devDir>/<name> pointing at target.
func plugUSB(t *testing.T, sysfs, devDir, name, target string) {
	t.Helper()
	iface := filepath.Join(sysfs, "class", "usbmisc", name, "device")
	if err := os.MkdirAll(iface, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(iface, "ieee1284_id"), []byte("MFG:Zebra Technologies;CMD:ZPL;MDL:ZD420;CLS:PRINTER;"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(devDir, name)); err != nil {
		t.Fatal(err)
	}
}

func unplugUSB(t *testing.T, sysfs, devDir, name string) {
	t.Helper()
	os.RemoveAll(filepath.Join(sysfs, "class", "usbmisc", name))
	os.Remove(filepath.Join(devDir, name))
}

// A USB printer unplugged and plugged back in comes back as another lpN;
// the worker finds it again by its IEEE 1284 id and carries on.
func TestWorkerUSBReplugAsAnotherNode(t *testing.T) {
	ctx := testCtx(t)
	emu := devicetest.NewEmulator(nil)
	defer emu.Close()
	sysfs, devDir := t.TempDir(), t.TempDir()
	first, err := emu.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	plugUSB(t, sysfs, devDir, "lp0", first)
	p, err := device.Open(device.PrinterConfig{Name: "zebra", Transport: "usb", Match: "MDL:ZD420",
		Sysfs: sysfs, USBDevDir: devDir, StatusTimeout: device.Duration(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	src := devicetest.NewSource()
	statuses := newStatusLog()
	runWorker(t, device.NewWorker(p, src, fastOpts(statuses.on)))
	addJobs(src, 1, 3, 40)
	if err := src.WaitDone(ctx, 3); err != nil {
		t.Fatal(err)
	}

	unplugUSB(t, sysfs, devDir, "lp0")
	if err := emu.ClosePTY(first); err != nil {
		t.Fatal(err)
	}
	addJobs(src, 4, 6, 40)
	if _, err := src.WaitJob(ctx, "hold", "job-04"); err != nil {
		t.Fatal(err)
	}
	if err := statuses.wait(ctx, device.StateOffline); err != nil {
		t.Fatal(err)
	}
	second, err := emu.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	plugUSB(t, sysfs, devDir, "lp1", second)
	if err := src.WaitDone(ctx, 6); err != nil {
		t.Fatal(err)
	}
	if got := labelIDs(emu.Labels()); strings.Join(got, " ") != strings.Join(jobIDs(1, 6), " ") {
		t.Fatalf("labels %v", got)
	}
	assertAllPrinted(t, src, jobIDs(1, 6))
}
