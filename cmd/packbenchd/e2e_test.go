package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"

	"github.com/packbench/packbench/device/devicetest"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/station"
)

// TestDefaultBench: packbenchd with no config starts the whole bench: READY
// to systemd, health answering, a key generated and printed exactly once,
// the spool printer writing the label as ZPL plus a PNG preview; SIGTERM
// is a clean exit with STOPPING=1, and a restart does not print the key.
func TestDefaultBench(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir, nil)
	keyFile := filepath.Join(dir, "api-key")
	b, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	d.key = strings.TrimSpace(string(b))
	if fi, _ := os.Stat(keyFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("api-key mode %v, want 0600", fi.Mode().Perm())
	}
	if n := strings.Count(d.log(), d.key); n != 1 {
		t.Fatalf("key printed %d times on first start, want once:\n%s", n, d.log())
	}
	if strings.Contains(d.log(), "time=") {
		t.Errorf("log lines carry timestamps (journald adds its own):\n%s", d.log())
	}

	var h struct {
		Status   string `json:"status"`
		Printers []struct {
			Name, Transport, Address string
			State                    string `json:"state"`
		} `json:"printers"`
		Scale struct {
			Simulated bool `json:"simulated"`
		} `json:"scale"`
	}
	if _, err := d.callKey("", "GET", "/api/v1/health", nil, &h); err != nil {
		t.Fatal(err)
	}
	if h.Status == "down" || !h.Scale.Simulated || len(h.Printers) != 1 || h.Printers[0].Transport != "spool" {
		t.Fatalf("health %+v: want a simulated scale and one spool printer", h)
	}
	var ps struct {
		Printers []struct{ Name, Transport, Address string } `json:"printers"`
	}
	d.must("GET", "/api/v1/printers", nil, &ps)
	if len(ps.Printers) != 1 || ps.Printers[0].Address != filepath.Join(dir, "spool") {
		t.Fatalf("printers %+v: want the spool printer in %s/spool", ps.Printers, dir)
	}
	if code, _ := d.callKey("", "GET", "/api/v1/printers", nil, nil); code != 401 {
		t.Fatalf("printers without a key: %d, want 401", code)
	}
	if code, _ := d.callKey("wrong-key-0123456789abcdef0123456789abcdef", "GET", "/api/v1/printers", nil, nil); code != 401 {
		t.Fatalf("printers with a wrong key: %d, want 401", code)
	}

	// The embedded bench works end to end: order, scan, parcel, spool file
	// and its PNG preview.
	order := createOrder(t, d, "LPN-DEFAULT-1", 1)
	d.must("POST", "/api/v1/flow/scan", map[string]string{"code": "LPN-DEFAULT-1"}, nil)
	d.must("POST", "/api/v1/scale/sim", map[string]any{"grams": 1250}, nil)
	f := waitFlow(t, d, "job printed", func(f station.FlowState) bool { return f.JobState == queue.StatePrinted })
	if f.Order == nil || f.Order.ID != order.ID {
		t.Fatalf("flow %+v: want order %s", f, order.ID)
	}
	zpl, err := os.ReadFile(filepath.Join(dir, "spool", f.JobID.String()+".zpl"))
	if err != nil || !bytes.HasPrefix(bytes.TrimSpace(zpl), []byte("^XA")) {
		t.Fatalf("spool ZPL: %v %.40q", err, zpl)
	}
	pf, err := os.Open(filepath.Join(dir, "spool", f.JobID.String()+".png"))
	if err != nil {
		t.Fatalf("spool PNG preview: %v", err)
	}
	img, err := png.Decode(pf)
	pf.Close()
	if err != nil || img.Bounds().Dx() != 812 || img.Bounds().Dy() != 1218 {
		t.Fatalf("PNG preview: %v, want a 4x6 label at 203 dpi", err)
	}
	if got, err := decodeCode128(img); err != nil || got != f.TrackingNumber {
		t.Fatalf("preview barcode %q (%v), want the tracking number %s", got, err, f.TrackingNumber)
	}
	d.stop()

	d2 := startDaemon(t, dir, nil)
	if strings.Contains(d2.log(), d.key) || !strings.Contains(d2.log(), keyFile) {
		t.Fatalf("second start must name the key file and never print the key:\n%s", d2.log())
	}
	d2.stop()
}

// benchConfig writes dir/bench.toml: one TCP printer "zebra" (the emulator
// at printerAddr), the simulated scale, the local carrier numbering PB…,
// and the sections in extra ([bench], [label], [mqtt]). It returns the
// file's path.
func benchConfig(t testing.TB, dir, printerAddr, extra string) string {
	t.Helper()
	p := filepath.Join(dir, "bench.toml")
	if err := os.WriteFile(p, fmt.Appendf(nil, `
[[printer]]
name = "zebra"
transport = "tcp"
address = %q
[scale]
driver = "sim"
[carrier]
kind = "local"
scheme = "sequence"
prefix = "PB"
%s
`, printerAddr, extra), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// emulator starts a printer emulator on loopback TCP, closed when the test
// ends, and returns it with its address. nil options: Speed 0, it prints
// at once.
func emulator(t testing.TB, opts *devicetest.Options) (*devicetest.Emulator, string) {
	t.Helper()
	emu := devicetest.NewEmulator(opts)
	t.Cleanup(func() { emu.Close() })
	addr, err := emu.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return emu, addr
}

// pausingEmulator is emulator with a pause: as label number pauseAt
// arrives the emulator pauses, before it can print it (the hook runs
// before the label reaches the print engine).
func pausingEmulator(t testing.TB) (emu *devicetest.Emulator, addr string, pauseAt *atomic.Int64) {
	pauseAt = new(atomic.Int64)
	emu, addr = emulator(t, &devicetest.Options{OnLabel: func(n int, _ []byte) {
		if int64(n) == pauseAt.Load() {
			emu.SetPaused(true)
		}
	}})
	return emu, addr, pauseAt
}

// TestEndToEnd drives the real daemon with the printer emulator on
// loopback TCP and the simulated scale through the API.
func TestEndToEnd(t *testing.T) {
	// pauseAt: the emulator pauses as that label arrives, before it can
	// print it (the hook runs before the label reaches the print engine).
	emu, addr, pauseAt := pausingEmulator(t)
	dir := t.TempDir()
	cfgFile := benchConfig(t, dir, addr, "[bench]\nname = \"e2e\"\n[label]\nweight_unit = \"kg\"\n")
	key := "e2e-test-key-0123456789abcdef0123456789abcdef"
	env := []string{"PACKBENCH_API_KEY=" + key}
	d := startDaemon(t, dir, env, "--config", cfgFile)
	d.key = key
	if _, err := os.Stat(filepath.Join(dir, "api-key")); !os.IsNotExist(err) {
		t.Fatalf("a provisioned key must not write api-key: %v", err)
	}
	if strings.Contains(d.log(), key) {
		t.Fatalf("provisioned key printed or logged:\n%s", d.log())
	}

	order := createOrder(t, d, "LPN-E2E-1", 2)
	var armed station.FlowState
	d.must("POST", "/api/v1/flow/scan", map[string]string{"code": "LPN-E2E-1"}, &armed)
	if armed.State != station.FlowArmed || armed.Order == nil || armed.Order.ID != order.ID {
		t.Fatalf("after scan: %+v, want armed with %s", armed, order.ID)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Place a parcel that bounces before it settles: exactly one label.
	var script struct {
		ScriptMS int64 `json:"script_ms"`
	}
	d.must("POST", "/api/v1/scale/sim", map[string]string{"script": "place 2300g; bounce; settle"}, &script)
	if err := emu.WaitLabels(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f1 := waitFlow(t, d, "first job printed", func(f station.FlowState) bool { return f.JobState == queue.StatePrinted })
	// The script has ended and the scale shows the settled weight for longer
	// than the filter's settle window: a second label would be out by now.
	waitScaleSteady(t, d, 2300_000, time.Duration(script.ScriptMS)*time.Millisecond+time.Second)
	labels := emu.Labels()
	if len(labels) != 1 {
		t.Fatalf("%d labels after one bouncing placement, want 1", len(labels))
	}
	checkLabel(t, labels[0], f1.TrackingNumber, "2.3 KG", "PKG 1 OF 2", "Ada Lovelace", "10 Downing Street", "London SW1A 1AA")

	// A different weight without returning to zero is still the same
	// parcel: no label.
	d.must("POST", "/api/v1/scale/sim", map[string]any{"grams": 3100}, nil)
	waitScaleSteady(t, d, 3100_000, 2*time.Second)
	if n := len(emu.Labels()); n != 1 {
		t.Fatalf("%d labels before the scale returned to zero, want 1", n)
	}
	if f := flow(t, d); !f.AwaitRemoval {
		t.Fatalf("flow %+v: want await_removal until the scale is cleared", f)
	}

	// Lift, then place the second parcel: package 2 of 2.
	d.must("POST", "/api/v1/scale/sim", map[string]any{"remove": true}, nil)
	waitFlow(t, d, "re-armed after removal", func(f station.FlowState) bool { return !f.AwaitRemoval })
	d.must("POST", "/api/v1/scale/sim", map[string]string{"script": "place 3100g; settle"}, nil)
	if err := emu.WaitLabels(ctx, 2); err != nil {
		t.Fatal(err)
	}
	f2 := waitFlow(t, d, "second job printed", func(f station.FlowState) bool {
		return f.JobState == queue.StatePrinted && f.JobID != f1.JobID
	})
	if f2.TrackingNumber == f1.TrackingNumber || f2.Package != 2 || f2.Count != 2 {
		t.Fatalf("second parcel: %+v, want package 2 of 2 with its own tracking number", f2)
	}
	checkLabel(t, emu.Labels()[1], f2.TrackingNumber, "3.1 KG", "PKG 2 OF 2", "Ada Lovelace", "10 Downing Street", "London SW1A 1AA")
	poll(t, "printers view shows the last job", 10*time.Second, func() (bool, error) {
		var ps struct {
			Printers []struct {
				State     string      `json:"state"`
				LastJob   queue.JobID `json:"last_job"`
				LastState queue.State `json:"last_job_state"`
			} `json:"printers"`
		}
		_, err := d.call("GET", "/api/v1/printers", nil, &ps)
		return err == nil && len(ps.Printers) == 1 && ps.Printers[0].State == "ready" &&
			ps.Printers[0].LastJob == f2.JobID && ps.Printers[0].LastState == queue.StatePrinted, err
	})
	d.must("POST", "/api/v1/scale/sim", map[string]any{"remove": true}, nil)
	waitFlow(t, d, "cleared", func(f station.FlowState) bool { return !f.AwaitRemoval })

	// SIGKILL while the printer is printing: the emulator pauses as the
	// third label arrives, so the worker is still confirming (the job is
	// "sending") when the power goes.
	third := len(emu.Labels()) + 1
	pauseAt.Store(int64(third))
	createOrder(t, d, "LPN-E2E-2", 1)
	d.must("POST", "/api/v1/flow/scan", map[string]string{"code": "LPN-E2E-2"}, nil)
	d.must("POST", "/api/v1/scale/sim", map[string]any{"grams": 800}, nil)
	if err := emu.WaitLabels(ctx, third); err != nil {
		t.Fatal(err)
	}
	if s := emu.Snapshot(); !s.Paused || s.Printed != third-1 {
		t.Fatalf("emulator %+v: want paused with the third label unprinted", s)
	}
	f3 := waitFlow(t, d, "third job claimed", func(f station.FlowState) bool { return f.JobID != 0 && f.JobID != f2.JobID })
	poll(t, "job "+f3.JobID.String()+" sending", 10*time.Second, func() (bool, error) {
		var j queue.Job
		_, err := d.call("GET", "/api/v1/jobs/"+f3.JobID.String(), nil, &j)
		return err == nil && j.State == queue.StateSending, err
	})
	d.kill()

	d2 := startDaemon(t, dir, env, "--config", cfgFile)
	d2.key = key
	var j queue.Job
	d2.must("GET", "/api/v1/jobs/"+f3.JobID.String(), nil, &j)
	if j.State != queue.StateUncertain {
		t.Fatalf("after SIGKILL mid-print the job is %s, want uncertain: %+v", j.State, j.History)
	}
	if !strings.Contains(d2.log(), "uncertain") || !strings.Contains(d2.log(), f3.JobID.String()) {
		t.Errorf("restart did not log the uncertain job:\n%s", d2.log())
	}
	emu.SetPaused(false)
	// The bench goes on with the next parcel; the uncertain job is not
	// resent before it (nor after).
	next := createOrder(t, d2, "LPN-E2E-3", 1)
	d2.must("POST", "/api/v1/flow/scan", map[string]string{"code": "LPN-E2E-3"}, nil)
	d2.must("POST", "/api/v1/scale/sim", map[string]any{"grams": 650}, nil)
	if err := emu.WaitLabels(ctx, third+1); err != nil {
		t.Fatal(err)
	}
	f4 := waitFlow(t, d2, "fourth job printed", func(f station.FlowState) bool { return f.JobState == queue.StatePrinted })
	all := emu.Labels()
	if len(all) != third+1 || !strings.Contains(fieldData(all[third]), next.ID) {
		t.Fatalf("after restart: %d labels, the last for %q; want %d, the last for order %s", len(all), fieldData(all[len(all)-1]), third+1, next.ID)
	}
	d2.must("GET", "/api/v1/jobs/"+f3.JobID.String(), nil, &j)
	if j.State != queue.StateUncertain || f4.JobID == f3.JobID {
		t.Fatalf("uncertain job became %s", j.State)
	}
	d2.stop()
}

type orderResp struct {
	ID string `json:"id"`
}

func createOrder(t *testing.T, d *daemon, lpn string, packages int) orderResp {
	t.Helper()
	var o orderResp
	d.must("POST", "/api/v1/orders", map[string]any{
		"partner_order_id":       "PO-" + lpn,
		"associated_identifiers": []string{lpn},
		"packages":               packages,
		"ship_to": map[string]string{
			"name": "Ada Lovelace", "street1": "10 Downing Street", "city": "London", "zip": "SW1A 1AA", "country": "GB",
		},
	}, &o)
	if o.ID == "" {
		t.Fatal("created order has no id")
	}
	return o
}

func flow(t *testing.T, d *daemon) station.FlowState {
	t.Helper()
	var f station.FlowState
	d.must("GET", "/api/v1/flow", nil, &f)
	return f
}

func waitFlow(t *testing.T, d *daemon, what string, ok func(station.FlowState) bool) station.FlowState {
	t.Helper()
	var f station.FlowState
	poll(t, what, 20*time.Second, func() (bool, error) {
		f = station.FlowState{}
		_, err := d.call("GET", "/api/v1/flow", nil, &f)
		if f.Problem != nil && err == nil {
			err = fmt.Errorf("flow problem: %s: %s", f.Problem.Code, f.Problem.Message)
		}
		return err == nil && ok(f), err
	})
	return f
}

// waitScaleSteady polls the daemon's scale until it has shown mg, stable,
// for at least span (by the readings' own timestamps).
func waitScaleSteady(t *testing.T, d *daemon, mg int64, span time.Duration) {
	t.Helper()
	var since time.Time
	poll(t, fmt.Sprintf("scale steady at %d mg for %v", mg, span), span+20*time.Second, func() (bool, error) {
		var r scale.Reading
		if _, err := d.call("GET", "/api/v1/scale", nil, &r); err != nil {
			return false, err
		}
		if r.Milligrams != mg || r.Status != scale.StatusStable {
			since = time.Time{}
			return false, fmt.Errorf("reading %s", r)
		}
		if since.IsZero() {
			since = r.Time
		}
		return r.Time.Sub(since) >= span, nil
	})
}

// checkLabel renders the ZPL with the independent renderer, decodes its
// barcode, and checks the text fields.
func checkLabel(t *testing.T, zpl []byte, tracking, weight string, texts ...string) {
	t.Helper()
	if tracking == "" {
		t.Fatal("no tracking number in the flow state")
	}
	fields := fieldData(zpl)
	for _, want := range append([]string{weight}, texts...) {
		if !strings.Contains(fields, want) {
			t.Errorf("label text lacks %q; fields:\n%s", want, fields)
		}
	}
	img := renderZPL(t, zpl)
	got, err := decodeCode128(img)
	if err != nil {
		t.Fatalf("decode the label's barcode: %v", err)
	}
	if got != tracking {
		t.Fatalf("barcode decodes to %q, want the tracking number %s", got, tracking)
	}
}

var reFD = regexp.MustCompile(`\^FD(.*?)\^FS`)

// fieldData joins the ^FD fields of a ZPL label, one per line.
func fieldData(zpl []byte) string {
	var b strings.Builder
	for _, m := range reFD.FindAllSubmatch(zpl, -1) {
		b.Write(m[1])
		b.WriteByte('\n')
	}
	return b.String()
}

// renderZPL renders a 4x6 203 dpi label with tools/interop/render.mjs
// (zpl-renderer-js, independent of labelrender).
func renderZPL(t *testing.T, zpl []byte) image.Image {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: run scripts/test, which installs nodejs and tools/interop")
	}
	tool, err := filepath.Abs(filepath.Join("..", "..", "tools", "interop"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(tool, "node_modules", "zpl-renderer-js")); err != nil {
		t.Fatal("tools/interop/node_modules/zpl-renderer-js is missing: run scripts/test (npm ci in tools/interop)")
	}
	tmp := t.TempDir()
	in, out := filepath.Join(tmp, "label.zpl"), filepath.Join(tmp, "label.png")
	if err := os.WriteFile(in, zpl, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(tool, "render.mjs"), in, out, "101.5", "152.25", "8")
	cmd.Dir = tool
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("render.mjs: %v\n%s", err, msg)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// decodeCode128 reads the first Code 128 barcode of an image.
func decodeCode128(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	res, err := oned.NewCode128Reader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

// TestConfigProcess runs the real binary: a strict config error with its
// line number exits 1 before anything is opened; PACKBENCH_* variables
// override the file and --listen overrides the variable; the watchdog pings.
func TestConfigProcess(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("[scale]\ndriver = \"sim\"\ndrvier = \"nci\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemonBin, "--config", bad, "--data-dir", dir)
	cmd.Env = []string{"HOME=" + dir}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("bad config: %v, want exit 1\n%s", err, out)
	}
	if want := "packbenchd: config " + bad + ":3:1: unknown key scale.drvier"; !strings.Contains(string(out), want) {
		t.Fatalf("bad config said %q, want %q", out, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "packbench.db")); !os.IsNotExist(err) {
		t.Fatalf("a bad config must stop before the data file is created: %v", err)
	}
	out, err = exec.Command(daemonBin, "--listen", "nonsense", "--data-dir", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), `api.listen "nonsense"`) {
		t.Fatalf("bad --listen: %v %s", err, out)
	}

	// The file says spool; the environment says a TCP printer and a key;
	// PACKBENCH_LISTEN is overridden by --listen (an unusable value there
	// would fail the start).
	emu := devicetest.NewEmulator(nil)
	t.Cleanup(func() { emu.Close() })
	addr, err := emu.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.toml")
	if err := os.WriteFile(good, []byte(minimalTOML), 0o644); err != nil {
		t.Fatal(err)
	}
	key := "env-key-0123456789abcdef0123456789abcdef"
	d := startDaemon(t, dir, []string{
		"PACKBENCH_PRINTER=tcp://" + addr, "PACKBENCH_API_KEY=" + key, "PACKBENCH_LISTEN=256.0.0.1:nope",
		"PACKBENCH_NAME=bench-from-env", "WATCHDOG_USEC=200000",
	}, "--config", good, "--listen", "127.0.0.1:0")
	d.key = key
	var ps struct {
		Printers []struct{ Name, Transport, Address string } `json:"printers"`
	}
	d.must("GET", "/api/v1/printers", nil, &ps)
	if len(ps.Printers) != 1 || ps.Printers[0].Transport != "tcp" || ps.Printers[0].Address != addr {
		t.Fatalf("printers %+v: want PACKBENCH_PRINTER's tcp printer at %s", ps.Printers, addr)
	}
	var cfg map[string]any
	d.must("GET", "/api/v1/config", nil, &cfg)
	if b, _ := cfg["bench"].(map[string]any); b["name"] != "bench-from-env" {
		t.Fatalf("config view %v: want the name from PACKBENCH_NAME", cfg["bench"])
	}
	if raw, _ := json.Marshal(cfg); strings.Contains(string(raw), key) {
		t.Fatal("GET /api/v1/config shows the API key")
	}
	if err := d.waitNote("WATCHDOG=1", 10*time.Second); err != nil {
		t.Fatalf("watchdog: %v", err)
	}
	d.stop()
}

// TestGracefulStop: SIGTERM while the printer is still printing a label
// stops intake at once but lets the job finish: after the restart it is
// "printed", not "uncertain".
func TestGracefulStop(t *testing.T) {
	emu := devicetest.NewEmulator(&devicetest.Options{Speed: 2}) // a 6 in label takes 3 s
	t.Cleanup(func() { emu.Close() })
	addr, err := emu.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key := "graceful-key-0123456789abcdef0123456789abcdef"
	env := []string{"PACKBENCH_API_KEY=" + key, "PACKBENCH_PRINTER=tcp://" + addr}
	d := startDaemon(t, dir, env)
	d.key = key
	createOrder(t, d, "LPN-STOP-1", 1)
	d.must("POST", "/api/v1/flow/scan", map[string]string{"code": "LPN-STOP-1"}, nil)
	d.must("POST", "/api/v1/scale/sim", map[string]any{"grams": 500}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := emu.WaitLabels(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if s := emu.Snapshot(); s.Printed != 0 {
		t.Fatalf("label already printed (%+v): the test needs it in progress", s)
	}
	f := flow(t, d)
	d.stop()
	if s := emu.Snapshot(); s.Printed != 1 {
		t.Fatalf("daemon exited before the label was printed: %+v", s)
	}
	d2 := startDaemon(t, dir, env)
	d2.key = key
	var j queue.Job
	d2.must("GET", "/api/v1/jobs/"+f.JobID.String(), nil, &j)
	if j.State != queue.StatePrinted {
		t.Fatalf("job after a graceful stop: %s, want printed (history %+v)", j.State, j.History)
	}
	d2.stop()
}
