package uplink

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/uplink/uplinktest"
)

// TestTLS: mosquitto with a TLS listener signed by a test CA. The right CA
// connects (a client and a bench); a wrong CA fails naming its file.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := uplinktest.NewTestCA(t, dir, "good")
	wrongCA, _, _ := uplinktest.NewTestCA(t, dir, "wrong")
	mq := uplinktest.StartMosquitto(t, fmt.Sprintf("cafile %s\ncertfile %s\nkeyfile %s\n", ca, cert, key))
	port := mq.Port()
	url := fmt.Sprintf("mqtts://127.0.0.1:%d", port)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	cl, err := Dial(ctx, Config{URL: url, CAFile: ca}, "", 5*time.Second)
	if err != nil {
		t.Fatalf("with the right CA: %v", err)
	}
	cl.Close()
	b := startBench(t, url, "bench-tls", benchOptions{cfg: func(c *Config) { c.CAFile = ca }})
	waitFor(t, 10*time.Second, "bench connected over TLS", b.link.Connected)

	_, err = Dial(ctx, Config{URL: url, CAFile: wrongCA}, "", 5*time.Second)
	if err == nil {
		t.Fatal("a wrong CA connected")
	}
	if !errors.Is(err, ErrUntrusted) || !strings.Contains(err.Error(), wrongCA) || !strings.Contains(err.Error(), "not trusted") {
		t.Fatalf("wrong CA: %v; want ErrUntrusted naming %s", err, wrongCA)
	}
	t.Logf("wrong CA: %v", err)
	// Plain MQTT against the TLS port fails rather than hanging.
	if _, err := Dial(ctx, Config{URL: fmt.Sprintf("mqtt://127.0.0.1:%d", port)}, "", 2*time.Second); err == nil {
		t.Fatal("plain MQTT connected to the TLS listener")
	}
}

// TestMutualTLSAndPassword: a listener that requires a client certificate
// and a password. The bench connects with both; without the certificate
// or with a wrong password it fails, and the error says which.
func TestMutualTLSAndPassword(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := uplinktest.NewTestCA(t, dir, "good")
	pwfile := filepath.Join(dir, "passwd")
	if out, err := exec.Command("/usr/bin/mosquitto_passwd", "-c", "-b", pwfile, "bench", "s3cret").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd (Debian's mosquitto package): %v: %s", err, out)
	}
	if err := os.Chmod(pwfile, 0o600); err != nil {
		t.Fatal(err)
	}
	mq := uplinktest.StartMosquitto(t, fmt.Sprintf("cafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\nallow_anonymous false\npassword_file %s\n", ca, cert, key, pwfile))
	url := fmt.Sprintf("mqtts://127.0.0.1:%d", mq.Port())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	good := Config{URL: url, CAFile: ca, CertFile: cert, KeyFile: key, Username: "bench", Password: "s3cret"}
	cl, err := Dial(ctx, good, "", 5*time.Second)
	if err != nil {
		t.Fatalf("mutual TLS with the password: %v", err)
	}
	cl.Close()
	b := startBench(t, url, "bench-mtls", benchOptions{cfg: func(c *Config) {
		c.CAFile, c.CertFile, c.KeyFile, c.Username, c.Password = ca, cert, key, "bench", "s3cret"
	}})
	waitFor(t, 10*time.Second, "bench connected with mutual TLS", b.link.Connected)

	noCert := good
	noCert.CertFile, noCert.KeyFile = "", ""
	if _, err := Dial(ctx, noCert, "", 5*time.Second); err == nil {
		t.Error("connected without a client certificate")
	}
	wrongPW := good
	wrongPW.Password = "nope"
	_, err = Dial(ctx, wrongPW, "", 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "username/password") || strings.Contains(err.Error(), "nope") {
		t.Errorf("wrong password: %v; want an error naming the credentials, without the password", err)
	}
}
