package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

var (
	buildOnce sync.Once
	daemonBin string
	buildErr  error
)

// buildDaemon builds packbenchd once for the tests that talk to a real one.
func buildDaemon(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "packbench-cli-test-")
		if err != nil {
			buildErr = err
			return
		}
		daemonBin = filepath.Join(dir, "packbenchd")
		out, err := exec.Command("go", "build", "-o", daemonBin, "../packbenchd").CombinedOutput()
		if err != nil {
			buildErr = errors.New("build packbenchd: " + err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return daemonBin
}

// runDaemon starts the embedded-default daemon on a loopback port with its
// own data dir, waits for READY=1 on a notify socket, and returns its URL.
func runDaemon(t *testing.T, dataDir string) string {
	t.Helper()
	bin := buildDaemon(t)
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cmd := exec.Command(bin, "--data-dir", dataDir, "--listen", "127.0.0.1:0")
	cmd.Env = []string{"NOTIFY_SOCKET=" + sock, "HOME=" + dataDir, "PATH=" + os.Getenv("PATH")}
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
	c, err := cf.client(true)
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
