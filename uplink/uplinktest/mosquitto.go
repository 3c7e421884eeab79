package uplinktest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// MosquittoBin is where Debian's mosquitto package puts the broker.
const MosquittoBin = "/usr/sbin/mosquitto"

// FreePort returns a loopback port nobody listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Mosquitto is Debian's broker run by a test on a loopback port.
type Mosquitto struct {
	t       testing.TB
	port    int
	dir     string
	conf    string
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	logFile string
}

// BrokerLimits are the size limits of the broker config we ship
// (docs/examples/mosquitto.conf), which StartMosquitto uses unless extra
// sets max_packet_size itself: a payload over 4 MiB (the bench's limit,
// uplink.DefaultMaxMessage) is completed for its publisher but never
// forwarded, and a packet over 4 MiB + 64 KiB (room for the topic) is
// never read by the broker at all: it disconnects the publisher.
const BrokerLimits = "max_packet_size 4259840\nmessage_size_limit 4194304\n"

// StartMosquitto starts mosquitto with persistence in a temp dir and waits
// until it listens. extra configures the listener further (TLS files,
// allow_anonymous, password_file) or replaces BrokerLimits (a config that
// sets max_packet_size). It fails, never skips, when the binary is
// missing. The broker is stopped when the test ends.
func StartMosquitto(t testing.TB, extra string) *Mosquitto {
	t.Helper()
	if _, err := os.Stat(MosquittoBin); err != nil {
		t.Fatalf("mosquitto is required for this test and missing at %s (%v): install Debian's mosquitto package (scripts/test does)", MosquittoBin, err)
	}
	dir := t.TempDir()
	m := &Mosquitto{t: t, port: FreePort(t), dir: dir, logFile: filepath.Join(dir, "mosquitto.log")}
	listener := fmt.Sprintf("listener %d 127.0.0.1\n", m.port) + extra
	anon := "allow_anonymous true"
	if strings.Contains(extra, "allow_anonymous") {
		anon = ""
	}
	limits := BrokerLimits
	if strings.Contains(extra, "max_packet_size") {
		limits = ""
	}
	conf := listener + limits + fmt.Sprintf(`%s
%s
persistence true
persistence_location %s/
autosave_interval 0
max_queued_messages 0
max_queued_bytes 0
log_dest file %s
log_type error
log_type warning
log_type notice
`, anon, userLine(), dir, m.logFile)
	m.conf = filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(m.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop) // first: a failed Start must not leave a broker behind
	m.Start()
	return m
}

// URL is the broker's plain MQTT address, mqtt://127.0.0.1:port.
func (m *Mosquitto) URL() string { return fmt.Sprintf("mqtt://127.0.0.1:%d", m.port) }

// Port is the loopback port the broker listens on.
func (m *Mosquitto) Port() int { return m.port }

// Pid is the running broker's process id, 0 when it is stopped.
func (m *Mosquitto) Pid() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return 0
	}
	return m.cmd.Process.Pid
}

// userLine keeps mosquitto from dropping root privileges to its own user,
// which could not write the test's temp dir.
func userLine() string {
	if os.Geteuid() == 0 {
		return "user root"
	}
	return ""
}

// Start runs the broker (again, after Stop: same port, same persistence)
// and waits until its port answers (polling an external process, with a
// deadline).
func (m *Mosquitto) Start() {
	m.t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	cmd := exec.Command(MosquittoBin, "-c", m.conf)
	out, err := os.OpenFile(filepath.Join(m.dir, "stderr.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		m.t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	DieWithParent(cmd) // a test binary killed mid-run takes its broker along
	if err := cmd.Start(); err != nil {
		m.t.Fatalf("start mosquitto: %v", err)
	}
	m.cmd, m.exited = cmd, make(chan struct{})
	exited := m.exited
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", m.port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(m.logFile)
			stderr, _ := os.ReadFile(filepath.Join(m.dir, "stderr.log"))
			m.t.Fatalf("mosquitto exited at start: %s%s", stderr, log)
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			m.t.Fatalf("mosquitto did not listen on %d within 10s: %v", m.port, err)
		}
		time.Sleep(20 * time.Millisecond) // polling an external process
	}
}

// Stop terminates the broker (it saves its persistence file on the way),
// killing it if it has not exited within 10 s. Stopping a stopped broker
// does nothing.
func (m *Mosquitto) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(10 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.exited
	}
	m.cmd = nil
}
