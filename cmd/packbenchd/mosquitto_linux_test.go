package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// The broker side of the MQTT tests: Debian's mosquitto on a loopback port
// (the same harness as uplink's tests, trimmed to what these need).

const mosquittoBin = "/usr/sbin/mosquitto"

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

type mosquitto struct {
	t      testing.TB
	port   int
	dir    string
	conf   string
	cmd    *exec.Cmd
	exited chan struct{}
}

// startMosquitto runs mosquitto with persistence in a temp dir; extra
// configures the listener (TLS files). It fails, never skips, when the
// binary is missing.
func startMosquitto(t testing.TB, extra string) *mosquitto {
	t.Helper()
	if _, err := os.Stat(mosquittoBin); err != nil {
		t.Fatalf("mosquitto is required for this test and missing at %s (%v): install Debian's mosquitto package (scripts/test does)", mosquittoBin, err)
	}
	dir := t.TempDir()
	m := &mosquitto{t: t, port: freePort(t), dir: dir}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root" // the broker could not write the temp dir as its own user
	}
	conf := fmt.Sprintf("listener %d 127.0.0.1\n%sallow_anonymous true\n%s\npersistence true\npersistence_location %s/\n"+
		"autosave_interval 0\nmax_queued_messages 0\nmax_queued_bytes 0\nlog_dest file %s\nlog_type error\nlog_type warning\n",
		m.port, extra, user, dir, filepath.Join(dir, "mosquitto.log"))
	m.conf = filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(m.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.stop)
	cmd := exec.Command(mosquittoBin, "-c", m.conf)
	out, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // a killed test takes its broker along
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mosquitto: %v", err)
	}
	m.cmd, m.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(m.exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", m.port), time.Second)
		if err == nil {
			c.Close()
			return m
		}
		select {
		case <-m.exited:
			b, _ := os.ReadFile(filepath.Join(dir, "stderr.log"))
			l, _ := os.ReadFile(filepath.Join(dir, "mosquitto.log"))
			t.Fatalf("mosquitto exited at start: %s%s", b, l)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto did not listen on %d within 10s: %v", m.port, err)
		}
		time.Sleep(20 * time.Millisecond) // polling an external process
	}
}

func (m *mosquitto) url() string { return fmt.Sprintf("mqtt://127.0.0.1:%d", m.port) }

func (m *mosquitto) stop() {
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

// recorder keeps the messages of a subscription; wait is woken by each.
type recorder struct {
	mu      sync.Mutex
	msgs    []paho.Message
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

func (r *recorder) handle(_ paho.Client, m paho.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

func (r *recorder) wait(t testing.TB, d time.Duration, what string, ok func([]paho.Message) bool) []paho.Message {
	t.Helper()
	timeout := time.After(d)
	for {
		r.mu.Lock()
		msgs, ch := append([]paho.Message(nil), r.msgs...), r.changed
		r.mu.Unlock()
		if ok(msgs) {
			return msgs
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("timed out after %v waiting for %s (%d messages)", d, what, len(msgs))
		}
	}
}

// testClient is the cloud's side: a plain paho client.
func testClient(t testing.TB, port int, id string) paho.Client {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(fmt.Sprintf("tcp://127.0.0.1:%d", port)).SetClientID(id).
		SetCleanSession(true).SetAutoReconnect(false).SetOrderMatters(true)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("test client connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func subscribe(t testing.TB, c paho.Client, topic string, r *recorder) {
	t.Helper()
	if tok := c.Subscribe(topic, 1, r.handle); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", topic, tok.Error())
	}
}

// testCA makes a CA and a certificate it signs for 127.0.0.1, as PEM
// files in dir.
func testCA(t *testing.T, dir, name string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(file, typ string, b []byte) string {
		p := filepath.Join(dir, file)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write(name+"-ca.pem", "CERTIFICATE", caDER), write(name+"-cert.pem", "CERTIFICATE", der), write(name+"-key.pem", "PRIVATE KEY", keyDER)
}
