package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// daemonBin is packbenchd built once for every test that runs the real
// process: the production binary. hooksBin is the same built with the
// packbench_testhooks tag, for the test that crashes it on purpose.
var daemonBin, hooksBin string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "packbenchd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	daemonBin = filepath.Join(dir, "packbenchd")
	hooksBin = filepath.Join(dir, "packbenchd-testhooks")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, args := range [][]string{{"build", "-o", daemonBin, "."}, {"build", "-tags", "packbench_testhooks", "-o", hooksBin, "."}} {
		wg.Go(func() {
			cmd := exec.Command("go", args...)
			cmd.Stderr = os.Stderr
			errs[i] = cmd.Run()
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			fmt.Fprintln(os.Stderr, "build packbenchd:", err)
			return 1
		}
	}
	return m.Run()
}

// daemon is one packbenchd child process with its own data dir, a loopback
// port and a notify socket standing in for systemd.
type daemon struct {
	t       testing.TB
	cmd     *exec.Cmd
	dataDir string
	url     string // http://127.0.0.1:PORT, from the "bench ready" log line
	key     string

	mu     sync.Mutex
	stderr bytes.Buffer
	notes  []string      // sd_notify messages, in order
	noteCh chan struct{} // closed and replaced on every message
	exited chan struct{}
	// notesDone is closed when readNotes has read every datagram the
	// process sent (it exited first).
	notesDone chan struct{}
	err       error // Wait's result, after exited

	readyAt time.Duration // start → READY=1
}

// startDaemon runs packbenchd with args (plus --data-dir and a loopback
// --listen unless given) and env, and waits for READY=1 on its notify
// socket.
func startDaemon(t testing.TB, dataDir string, env []string, args ...string) *daemon {
	t.Helper()
	return startDaemonBin(t, daemonBin, dataDir, env, args...)
}

// startDaemonBin is startDaemon with another build of packbenchd.
func startDaemonBin(t testing.TB, bin, dataDir string, env []string, args ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, dataDir: dataDir, noteCh: make(chan struct{}), exited: make(chan struct{}), notesDone: make(chan struct{})}
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	go d.readNotes(conn)
	if !hasFlag(args, "--data-dir") {
		args = append(args, "--data-dir", dataDir)
	}
	if !hasFlag(args, "--listen") {
		args = append(args, "--listen", "127.0.0.1:0")
	}
	d.cmd = exec.Command(bin, args...)
	// A clean environment: nothing of the developer's PACKBENCH_* leaks in.
	d.cmd.Env = append([]string{"NOTIFY_SOCKET=" + sock, "HOME=" + dataDir, "PATH=" + os.Getenv("PATH")}, env...)
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go d.readStderr(stderr, conn)
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			<-d.exited
		}
		if t.Failed() {
			t.Logf("packbenchd stderr:\n%s", d.log())
		}
	})
	if err := d.waitNote("READY=1", 20*time.Second); err != nil {
		t.Fatalf("no READY=1: %v\nstderr:\n%s", err, d.log())
	}
	d.readyAt = time.Since(start)
	// The line is logged before READY is sent, but the pipe may deliver it
	// after the datagram.
	m, err := d.waitLog(regexp.MustCompile(`api=(http://\S+)`), 10*time.Second)
	if err != nil {
		t.Fatalf("READY without the bench ready line: %v\n%s", err, d.log())
	}
	d.url = m[1]
	return d
}

// waitLog waits for a stderr line matching re and returns its submatches.
func (d *daemon) waitLog(re *regexp.Regexp, timeout time.Duration) ([]string, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		d.mu.Lock()
		ch := d.noteCh
		m := re.FindStringSubmatch(d.stderr.String())
		d.mu.Unlock()
		if m != nil {
			return m, nil
		}
		select {
		case <-d.exited:
			if m := re.FindStringSubmatch(d.log()); m != nil {
				return m, nil
			}
			return nil, fmt.Errorf("packbenchd exited (%v)", d.err)
		default:
		}
		select {
		case <-ch:
		case <-deadline.C:
			return nil, fmt.Errorf("timed out after %v waiting for %s", timeout, re)
		}
	}
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

func (d *daemon) readNotes(conn *net.UnixConn) {
	defer close(d.notesDone)
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// The process exited (readStderr stopped this read): what it
			// sent last (STOPPING=1) may still be in the socket's buffer.
			d.drainNotes(conn, buf)
			return
		}
		if err != nil {
			return
		}
		d.addNotes(buf[:n])
	}
}

// drainNotes reads the datagrams left in conn's buffer without waiting.
func (d *daemon) drainNotes(conn *net.UnixConn, buf []byte) {
	conn.SetReadDeadline(time.Time{})
	rc, err := conn.SyscallConn()
	if err != nil {
		return
	}
	for {
		n, rerr := 0, error(nil)
		if err := rc.Read(func(fd uintptr) bool {
			n, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
			return true
		}); err != nil || rerr != nil {
			return // EAGAIN: the buffer is empty
		}
		d.addNotes(buf[:n])
	}
}

func (d *daemon) addNotes(b []byte) {
	d.mu.Lock()
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		d.notes = append(d.notes, line)
	}
	close(d.noteCh)
	d.noteCh = make(chan struct{})
	d.mu.Unlock()
}

func (d *daemon) readStderr(r io.Reader, conn *net.UnixConn) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		d.mu.Lock()
		d.stderr.Write(sc.Bytes())
		d.stderr.WriteByte('\n')
		close(d.noteCh) // log lines wake note waiters too (they re-check exit)
		d.noteCh = make(chan struct{})
		d.mu.Unlock()
	}
	err := d.cmd.Wait()
	// Every datagram the process sent is in the buffer now: stop the
	// blocked read, let readNotes drain the rest, then close. (Closing at
	// once lost a STOPPING=1 sent just before exit, now and then.)
	conn.SetReadDeadline(time.Now())
	<-d.notesDone
	conn.Close()
	d.mu.Lock()
	d.err = err
	close(d.exited)
	close(d.noteCh)
	d.noteCh = make(chan struct{})
	d.mu.Unlock()
}

func (d *daemon) log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stderr.String()
}

func (d *daemon) sawNote(s string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range d.notes {
		if n == s {
			return true
		}
	}
	return false
}

// waitNote waits for an sd_notify message; it fails early if the process
// exits first.
func (d *daemon) waitNote(want string, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		d.mu.Lock()
		ch := d.noteCh
		d.mu.Unlock()
		if d.sawNote(want) {
			return nil
		}
		select {
		case <-d.exited:
			if d.sawNote(want) {
				return nil
			}
			return fmt.Errorf("packbenchd exited (%v) before %s", d.err, want)
		default:
		}
		select {
		case <-ch:
		case <-deadline.C:
			return fmt.Errorf("timed out after %v waiting for %s", timeout, want)
		}
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (d *daemon) stop() {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		d.t.Fatal(err)
	}
	select {
	case <-d.exited:
	case <-time.After(30 * time.Second):
		d.t.Fatalf("packbenchd did not stop within 30s of SIGTERM\n%s", d.log())
	}
	if d.err != nil {
		d.t.Fatalf("packbenchd exit: %v (want 0)\n%s", d.err, d.log())
	}
	if !d.sawNote("STOPPING=1") {
		d.t.Errorf("no STOPPING=1 before exit")
	}
}

// kill sends SIGKILL: no shutdown at all, like a power cut.
func (d *daemon) kill() {
	d.t.Helper()
	d.cmd.Process.Kill()
	<-d.exited
}

// call sends a JSON request with the key; out may be nil.
func (d *daemon) call(method, path string, in, out any) (int, error) {
	return d.callKey(d.key, method, path, in, out)
}

func (d *daemon) callKey(key, method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, d.url+path, body)
	if err != nil {
		return 0, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		if raw, ok := out.(*[]byte); ok {
			*raw = data
			return resp.StatusCode, nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return resp.StatusCode, nil
}

// must is call that fails the test on error.
func (d *daemon) must(method, path string, in, out any) {
	d.t.Helper()
	if _, err := d.call(method, path, in, out); err != nil {
		d.t.Fatal(err)
	}
}

// poll asks cond (which queries the daemon) until it holds or the deadline
// passes: the daemon is another process, so there is nothing to wait on.
func poll(t testing.TB, what string, timeout time.Duration, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := cond()
		if ok {
			return
		}
		last = err
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s (last error: %v)", timeout, what, last)
		}
		time.Sleep(20 * time.Millisecond) // poll interval against an external process
	}
}
