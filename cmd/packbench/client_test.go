package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/packbench/packbench/internal/datadir"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// Binaries the tests run, each built once.
var (
	daemonBin = sync.OnceValues(func() (string, error) { return goBuild("../packbenchd", "packbenchd") })
	cliBin    = sync.OnceValues(func() (string, error) { return goBuild(".", "packbench") })
)

// goBuild builds the package into a temporary directory.
func goBuild(pkg, name string) (string, error) {
	dir, err := os.MkdirTemp("", "packbench-cli-test-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, name)
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		return "", errors.New("build " + name + ": " + err.Error() + "\n" + string(out))
	}
	return bin, nil
}

// buildDaemon builds packbenchd once for the tests that talk to a real one.
func buildDaemon(t *testing.T) string {
	t.Helper()
	bin, err := daemonBin()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// buildCLI builds this command once for the tests that run it in a namespace.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin, err := cliBin()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// runDaemon starts the embedded-default daemon on a loopback port with its
// own data dir, waits for READY=1 on a notify socket, and returns its URL.
// env is added to the daemon's environment.
func runDaemon(t *testing.T, dataDir string, env ...string) string {
	t.Helper()
	bin := buildDaemon(t)
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cmd := exec.Command(bin, "--data-dir", dataDir, "--listen", "127.0.0.1:0")
	cmd.Env = append([]string{"NOTIFY_SOCKET=" + sock, "HOME=" + dataDir, "PATH=" + os.Getenv("PATH")}, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // the test stopped listening; keep draining
			}
		}
		close(lines)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 512)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no READY=1 from packbenchd: %v", err)
		}
		if strings.Contains(string(buf[:n]), "READY=1") {
			break
		}
	}
	re := regexp.MustCompile(`api=(http://\S+)`)
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("packbenchd exited")
			}
			if m := re.FindStringSubmatch(l); m != nil {
				return m[1]
			}
		case <-timeout:
			t.Fatal("no bench ready line")
		}
	}
}

func cli(t *testing.T, run func(context.Context, *stdio, []string) error, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	std := &stdio{in: strings.NewReader(stdin), out: &out, err: &errb, log: slog.New(slog.DiscardHandler)}
	err := run(context.Background(), std, args)
	return out.String(), errb.String(), err
}

// TestCLIAgainstDaemon runs status, scan and jobs against a real daemon.
func TestCLIAgainstDaemon(t *testing.T) {
	t.Setenv("PACKBENCH_API_KEY", "")
	t.Setenv("PACKBENCH_URL", "")
	// The default data dir must hold no key, whatever daemon ran on this machine.
	t.Setenv("PACKBENCH_DATA_DIR", t.TempDir())
	dir := t.TempDir()
	url := runDaemon(t, dir)

	out, _, err := cli(t, runStatus, "", "--url", url, "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{url, "scale:", "(simulated)", "flow:", "idle", "spool", filepath.Join(dir, "spool")} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	out, _, err = cli(t, runStatus, "", "--url", url, "--json")
	var h map[string]any
	if err != nil || json.Unmarshal([]byte(out), &h) != nil || (h["status"] != "ok" && h["status"] != "degraded") {
		t.Fatalf("status --json: %v %s", err, out)
	}

	// The key comes from the daemon's data dir.
	cf := &clientFlags{url: url, dataDir: dir, getenv: func(string) string { return "" }}
	c, err := cf.client(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	var o station.Order
	if err := c.do(context.Background(), "POST", "/api/v1/orders", map[string]any{
		"associated_identifiers": []string{"LPN-CLI-1"}, "packages": 1,
		"ship_to": map[string]string{"name": "Grace Hopper", "street1": "1 Navy Way", "city": "Arlington", "zip": "22202", "country": "US"},
	}, &o); err != nil {
		t.Fatal(err)
	}

	if _, _, err := cli(t, runScan, "", "--url", url, "LPN-CLI-1"); err == nil || !strings.Contains(err.Error(), "no API key") {
		t.Fatalf("scan without a key: %v", err)
	}
	out, _, err = cli(t, runScan, "", "--url", url, "--data-dir", dir, "LPN-CLI-1")
	if err != nil || !strings.Contains(out, "armed: order "+o.ID) || !strings.Contains(out, "Grace Hopper") {
		t.Fatalf("scan: %v %q", err, out)
	}
	_, _, err = cli(t, runScan, "", "--url", url, "--data-dir", dir, "LPN-NOPE")
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status != 404 {
		t.Fatalf("scan of an unknown code: %v, want the daemon's 404", err)
	}
	// A scanner on stdin: a bad code is reported, the next one is scanned.
	out, errs, err := cli(t, runScan, "NOPE-1\n\nLPN-CLI-1\n", "--url", url, "--data-dir", dir, "-")
	if err != nil || !strings.Contains(errs, "NOPE-1") || !strings.Contains(out, "armed: order "+o.ID) {
		t.Fatalf("scan -: %v out %q err %q", err, out, errs)
	}

	// Place the parcel; the job prints on the spool printer.
	if err := c.do(context.Background(), "POST", "/api/v1/scale/sim", map[string]any{"grams": 900}, nil); err != nil {
		t.Fatal(err)
	}
	var f station.FlowState
	deadline := time.Now().Add(20 * time.Second)
	for f.JobState != queue.StatePrinted {
		if time.Now().After(deadline) {
			t.Fatalf("job never printed: %+v", f)
		}
		time.Sleep(20 * time.Millisecond) // polling another process
		if err := c.do(context.Background(), "GET", "/api/v1/flow", nil, &f); err != nil {
			t.Fatal(err)
		}
	}

	// The operator reads the bench's refusals in people's words, with the
	// next step, and no Go operation chain (issue 19).
	var msg bytes.Buffer
	exitCode(func() error {
		_, _, err := cli(t, runScan, "", "--url", url, "--data-dir", dir, "LPN-NOPE")
		return err
	}(), &msg)
	if m := msg.String(); goPrefix.MatchString(m) || !strings.Contains(m, "no order for this barcode") {
		t.Errorf("unknown code: %q", m)
	}
	if err := c.do(context.Background(), "POST", "/api/v1/scale/sim", map[string]any{"remove": true}, nil); err != nil {
		t.Fatal(err)
	}
	msg.Reset()
	exitCode(func() error {
		_, _, err := cli(t, runScan, "", "--url", url, "--data-dir", dir, "LPN-CLI-1")
		return err
	}(), &msg)
	if m := msg.String(); goPrefix.MatchString(m) || strings.Contains(m, "conflict:") ||
		!strings.Contains(m, "Already labelled: order "+o.ID) || !strings.Contains(m, "Press Reprint") {
		t.Errorf("labelled order: %q", m)
	}

	// jobs: the daemon holds the file, so it goes through the API (found
	// through PACKBENCH_URL; the key through the data dir).
	t.Setenv("PACKBENCH_URL", url)
	out, _, err = cli(t, runJobs, "", "--data-dir", dir, "list")
	if err != nil || !strings.Contains(out, f.JobID.String()) || !strings.Contains(out, "printed") {
		t.Fatalf("jobs list through the API: %v\n%s", err, out)
	}
	out, _, err = cli(t, runJobs, "", "--data-dir", dir, "--url", url, "list", "--json", "--state", "printed")
	var jobs []queue.Job
	if err != nil || json.Unmarshal([]byte(out), &jobs) != nil || len(jobs) != 1 || jobs[0].ID != f.JobID {
		t.Fatalf("jobs list --json: %v %s", err, out)
	}
	out, _, err = cli(t, runJobs, "", "--data-dir", dir, "show", f.JobID.String())
	if err != nil || !strings.Contains(out, "history:") || !strings.Contains(out, "sending") || !strings.Contains(out, o.ID) {
		t.Fatalf("jobs show through the API: %v\n%s", err, out)
	}
	_, _, err = cli(t, runJobs, "", "--data-dir", dir, "retry", f.JobID.String())
	if !errors.As(err, &ae) || ae.Status != 409 {
		t.Fatalf("retry of a printed job: %v, want the daemon's 409", err)
	}
	if _, _, err := cli(t, runJobs, "", "--data-dir", dir, "show", f.JobID.String(), "--payload"); err == nil || !strings.Contains(err.Error(), "labels") {
		t.Fatalf("show --payload through the API: %v", err)
	}
}

// TestCLINoDaemon: a daemon that is not there is a clear error.
func TestCLINoDaemon(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	_, _, err = cli(t, runStatus, "", "--url", url)
	if !errors.Is(err, errNoDaemon) {
		t.Fatalf("status with no daemon: %v", err)
	}
	if _, _, err := cli(t, runStatus, "", "--url", "ftp://x"); err == nil || !strings.Contains(err.Error(), "--url") {
		t.Fatalf("bad url: %v", err)
	}
	if _, _, err := cli(t, runScan, "", "--url", url, "--key", "k-0123456789abcdef0123456789abcdef", "--arm", "SO1", "X"); err == nil {
		t.Fatal("--arm with codes: no error")
	}
	if _, _, err := cli(t, runScan, ""); !errors.Is(err, errUsage) {
		t.Fatalf("scan without codes: %v", err)
	}
}

// TestCLIFindsDaemonByRecord: with a fresh HOME, a daemon on a port that is
// not the default is found through the address it recorded in its data
// dir (no --url, no PACKBENCH_URL), and its key through the same dir; once
// it stopped, the record is gone; a stale one is named in the error.
func TestCLIFindsDaemonByRecord(t *testing.T) {
	bin := buildDaemon(t) // before HOME changes, which moves go's build cache
	home := t.TempDir()
	for k, v := range map[string]string{"HOME": home, "PACKBENCH_URL": "", "PACKBENCH_API_KEY": "", "PACKBENCH_DATA_DIR": "",
		"XDG_STATE_HOME": "", "STATE_DIRECTORY": ""} {
		t.Setenv(k, v)
	}
	// The daemon with the same HOME and no --data-dir: both use the default
	// data dir, ~/.local/state/packbench.
	d := startIn(t, "", []string{"HOME=" + home}, bin, "--listen", "127.0.0.1:0")
	port := d.waitLine(t, regexp.MustCompile(`msg="bench ready".* api=http://127\.0\.0\.1:(\d+)`), 20*time.Second)[1]
	if port == "8080" {
		t.Fatal("the daemon took the default port; the test needs another")
	}
	dir := filepath.Join(home, ".local", "state", "packbench")
	rec, err := os.ReadFile(filepath.Join(dir, datadir.URLFile))
	if err != nil || string(rec) != "http://127.0.0.1:"+port+"\n" {
		t.Fatalf("record: %q %v", rec, err)
	}
	discovered := false
	noDiscovery := func(context.Context) ([]benchListing, error) { discovered = true; return nil, nil }

	cf := &clientFlags{getenv: os.Getenv, discover: noDiscovery}
	c, err := cf.client(context.Background(), true)
	if err != nil || c.base.String() != "http://127.0.0.1:"+port || c.key == "" || discovered {
		t.Fatalf("client: %v %+v (discovered %v)", err, c, discovered)
	}
	out, _, err := cli(t, runStatus, "")
	// The address is the point here; the health word may still be
	// "degraded" while the printer is being probed.
	if err != nil || !strings.Contains(out, "http://127.0.0.1:"+port+" (") {
		t.Fatalf("status through the record: %v\n%s", err, out)
	}
	// jobs: the daemon holds the data file, so the API, found the same way.
	if out, _, err := cli(t, runJobs, "", "list"); err != nil || !strings.Contains(out, "no jobs") && !strings.Contains(out, "ID") {
		t.Fatalf("jobs list through the record: %v\n%s", err, out)
	}
	// --url and PACKBENCH_URL still win over the record.
	cf = &clientFlags{url: "http://127.0.0.1:1", getenv: os.Getenv, discover: noDiscovery}
	if c, err := cf.client(context.Background(), false); err != nil || c.base.Port() != "1" || c.from != "--url" {
		t.Fatalf("--url: %+v %v", c, err)
	}

	if err := d.stop(); err != nil {
		t.Fatalf("daemon exit: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, datadir.URLFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("record after a clean stop: %v", err)
	}

	// A record left by a daemon that died: the error says which address,
	// from where, and how to choose another.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	if err := os.WriteFile(filepath.Join(dir, datadir.URLFile), []byte(dead+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = cli(t, runStatus, "")
	if !errors.Is(err, errNoDaemon) {
		t.Fatalf("stale record: %v", err)
	}
	for _, want := range []string{dead, filepath.Join(dir, datadir.URLFile), "--url", "PACKBENCH_URL", "packbench discover"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	// Nothing recorded and nothing on the LAN: the default, said as such.
	os.Remove(filepath.Join(dir, datadir.URLFile))
	discovered = false
	cf = &clientFlags{getenv: os.Getenv, discover: noDiscovery}
	if c, err := cf.client(context.Background(), false); err != nil || c.base.String() != defaultAPIURL || !discovered || !strings.Contains(c.from, "no bench answered") {
		t.Fatalf("fallback: %+v %v (discovered %v)", c, err, discovered)
	}
	// Two on the LAN: no guess.
	cf.discover = func(context.Context) ([]benchListing, error) {
		return []benchListing{{Name: "A", URL: "http://10.0.0.1:8080"}, {Name: "B", URL: "http://10.0.0.2:8080"}}, nil
	}
	if _, err := cf.client(context.Background(), false); err == nil || !strings.Contains(err.Error(), `"A" at http://10.0.0.1:8080`) {
		t.Fatalf("two benches: %v", err)
	}
}

// TestFlagsBeforeCommand: flags go after the command, and a flag before it
// says so.
func TestFlagsBeforeCommand(t *testing.T) {
	var errb bytes.Buffer
	std := &stdio{in: strings.NewReader(""), out: io.Discard, err: &errb, log: slog.New(slog.DiscardHandler)}
	err := dispatch(context.Background(), std, []string{"--url", "http://x:1", "status"})
	if err == nil || !strings.Contains(err.Error(), "flags go after it") {
		t.Fatalf("flag before the command: %v", err)
	}
}
