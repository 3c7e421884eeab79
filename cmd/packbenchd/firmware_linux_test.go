package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/packbench/packbench/api"

	"github.com/packbench/packbench/firmware"
	"github.com/packbench/packbench/firmware/firmwaretest"
	"github.com/packbench/packbench/internal/datadir"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/uplink"
	"github.com/packbench/packbench/uplink/uplinktest"
)

// buildVersion builds packbenchd as version.
func buildVersion(t *testing.T, version string) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "packbenchd-"+version)
	cmd := exec.Command("go", "build", "-o", p, "-ldflags", "-X main.version="+version, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", version, err, out)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func healthVersion(t *testing.T, d *daemon) string {
	t.Helper()
	var h struct {
		Version string `json:"version"`
	}
	d.must("GET", "/api/v1/health", nil, &h)
	return h.Version
}

// TestFirmwareUpdateRealBinaries: the packaged packbenchd (1.0.0) starts
// an installed 1.1.0 in its place, which commits itself once healthy; an
// installed 1.2.0 that never gets healthy (its MQTT broker is unreachable)
// is rolled back, and the next start runs 1.1.0 again.
func TestFirmwareUpdateRealBinaries(t *testing.T) {
	pub, priv := firmwaretest.Key(t)
	tmp := t.TempDir()
	pubText, _ := pub.MarshalText()
	keyFile := filepath.Join(tmp, "firmware.pub")
	if err := os.WriteFile(keyFile, pubText, 0o644); err != nil {
		t.Fatal(err)
	}
	packaged := filepath.Join(tmp, "packbenchd")
	if err := os.WriteFile(packaged, buildVersion(t, "1.0.0"), 0o755); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	store := firmware.Open(filepath.Join(data, datadir.FirmwareDir), &firmware.Options{Key: &pub, Running: "1.0.0"})
	env := []string{"PACKBENCH_FIRMWARE_KEY=" + keyFile}

	if _, err := store.Apply(context.Background(), firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.1.0"}, buildVersion(t, "1.1.0"))); err != nil {
		t.Fatal(err)
	}
	d := startDaemonBin(t, packaged, data, env)
	if v := healthVersion(t, d); v != "1.1.0" {
		t.Fatalf("running %s, want 1.1.0", v)
	}
	if _, err := d.waitLog(regexp.MustCompile(`firmware: healthy: update committed`), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	d.stop()
	if st, err := store.Status(); err != nil || st.Current != "1.1.0" || st.Pending != nil || st.Last.Result != "committed" {
		t.Fatalf("status %+v, %v", st, err)
	}
	d = startDaemonBin(t, packaged, data, env)
	if v := healthVersion(t, d); v != "1.1.0" {
		t.Fatalf("second start runs %s, want 1.1.0", v)
	}
	d.stop()

	// 1.2.0 cannot reach its broker, so it never reports healthy.
	if _, err := store.Apply(context.Background(), firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.2.0"}, buildVersion(t, "1.2.0"))); err != nil {
		t.Fatal(err)
	}
	bad := append(env, "PACKBENCH_MQTT_URL=mqtt://127.0.0.1:1", "PACKBENCH_FIRMWARE_WINDOW=2s")
	d = startDaemonBin(t, packaged, data, bad)
	if v := healthVersion(t, d); v != "1.2.0" {
		t.Fatalf("running %s, want 1.2.0", v)
	}
	select {
	case <-d.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("1.2.0 still running after its window\n%s", d.log())
	}
	if d.err == nil {
		t.Fatalf("1.2.0 exited 0 after a rollback; systemd would not restart it\n%s", d.log())
	}
	st, err := store.Status()
	if err != nil || st.Current != "1.1.0" || st.Pending != nil || st.Last.Result != "rolled_back" || st.Last.Version != "1.2.0" {
		t.Fatalf("status %+v last %+v, %v", st, st.Last, err)
	}
	// systemd's restart: the packaged binary starts 1.1.0 again.
	d = startDaemonBin(t, packaged, data, env)
	if v := healthVersion(t, d); v != "1.1.0" {
		t.Fatalf("after the rollback running %s, want 1.1.0", v)
	}
	d.stop()
}

// TestFirmwareUploadRestarts: an update posted to the API is switched to,
// the daemon exits with exitRestart (systemd starts it again), and the
// next start runs and commits the new version.
func TestFirmwareUploadRestarts(t *testing.T) {
	pub, priv := firmwaretest.Key(t)
	tmp := t.TempDir()
	pubText, _ := pub.MarshalText()
	keyFile := filepath.Join(tmp, "firmware.pub")
	os.WriteFile(keyFile, pubText, 0o644)
	data := t.TempDir()
	env := []string{"PACKBENCH_FIRMWARE_KEY=" + keyFile, "PACKBENCH_API_KEY=" + strings.Repeat("k", 40)}
	d := startDaemon(t, data, env) // the packaged binary: version "dev"
	d.key = strings.Repeat("k", 40)

	b := firmwaretest.Release(t, priv, firmware.Manifest{Version: "2.0.0"}, buildVersion(t, "2.0.0"))
	rc, _ := b.Binary()
	bin, _ := io.ReadAll(rc)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, p := range []struct {
		name string
		data []byte
	}{{"manifest", b.Manifest}, {"manifest_signature", b.ManifestSig}, {"binary_signature", b.BinarySig}, {"binary", bin}} {
		w, _ := mw.CreateFormFile(p.name, p.name)
		w.Write(p.data)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", d.url+"/api/v1/firmware", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+d.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /api/v1/firmware: %d %s", resp.StatusCode, answer)
	}
	select {
	case <-d.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("no restart after the switch\n%s", d.log())
	}
	var ee *exec.ExitError
	if !errors.As(d.err, &ee) || ee.ExitCode() != exitRestart {
		t.Fatalf("exit %v, want status %d\n%s", d.err, exitRestart, d.log())
	}
	d = startDaemon(t, data, env)
	d.key = strings.Repeat("k", 40)
	if v := healthVersion(t, d); v != "2.0.0" {
		t.Fatalf("after the restart running %s, want 2.0.0", v)
	}
	if _, err := d.waitLog(regexp.MustCompile(`firmware: healthy: update committed`), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	var st api.FirmwareStatus
	d.must("GET", "/api/v1/firmware", nil, &st)
	if st.Running != "2.0.0" || st.Current != "2.0.0" || st.Pending != nil || st.Last == nil || st.Last.Result != "committed" {
		t.Fatalf("firmware status %+v", st)
	}
	d.stop()
	// The events went to the outbox: switched before the restart, committed after.
	db, err := queue.Open(filepath.Join(data, datadir.DataFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	evs, err := db.EventsAfter(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range evs {
		if strings.HasPrefix(e.Type, "firmware.") {
			types = append(types, e.Type)
		}
	}
	if got := strings.Join(types, " "); got != "firmware.verified firmware.staged firmware.switched firmware.committed" {
		t.Fatalf("firmware events %q", got)
	}
}

// TestFirmwareUpdateOverMQTT: cmd/firmware.update downloads a release over
// verified TLS, the bench restarts into it, and the new version commits
// itself once its MQTT link is up.
func TestFirmwareUpdateOverMQTT(t *testing.T) {
	mq := uplinktest.StartMosquitto(t, "")
	pub, priv := firmwaretest.Key(t)
	tmp := t.TempDir()
	pubText, _ := pub.MarshalText()
	keyFile := filepath.Join(tmp, "firmware.pub")
	os.WriteFile(keyFile, pubText, 0o644)

	bin := buildVersion(t, "3.0.0")
	rel := firmwaretest.Release(t, priv, firmware.Manifest{Version: "3.0.0", URL: "bin/packbenchd"}, bin)
	files := map[string][]byte{"/3.0.0/manifest.json": rel.Manifest, "/3.0.0/manifest.json.minisig": rel.ManifestSig,
		"/3.0.0/bin/packbenchd": bin, "/3.0.0/bin/packbenchd.minisig": rel.BinarySig}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f))
	}))
	defer srv.Close()
	// The daemon trusts the test server's certificate through the system
	// CA file, as it would a real CA: TLS stays verified.
	ca := filepath.Join(tmp, "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)

	data := t.TempDir()
	env := []string{"PACKBENCH_FIRMWARE_KEY=" + keyFile, "SSL_CERT_FILE=" + ca,
		"PACKBENCH_MQTT_URL=" + mq.URL(), "PACKBENCH_DEVICE_ID=bench-fw"}
	d := startDaemon(t, data, env)
	// Subscribed (the link reports connected only after its subscriptions).
	poll(t, "link connected", 20*time.Second, func() (bool, error) {
		var h api.Health
		d.must("GET", "/api/v1/health", nil, &h)
		return len(h.Links) == 1 && h.Links[0].State == "connected", fmt.Errorf("%+v", h.Links)
	})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := uplink.Dial(ctx, uplink.Config{URL: mq.URL()}, "", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	raw, err := cl.Command(ctx, "bench-fw", uplink.VerbFirmwareUpdate, map[string]string{"url": srv.URL + "/3.0.0/manifest.json"})
	if err != nil || !strings.Contains(string(raw), `"started":true`) {
		t.Fatalf("firmware.update: %s, %v", raw, err)
	}
	select {
	case <-d.exited:
	case <-ctx.Done():
		t.Fatalf("no restart after the update\n%s", d.log())
	}
	var ee *exec.ExitError
	if !errors.As(d.err, &ee) || ee.ExitCode() != exitRestart {
		t.Fatalf("exit %v, want status %d\n%s", d.err, exitRestart, d.log())
	}
	d = startDaemon(t, data, env)
	if v := healthVersion(t, d); v != "3.0.0" {
		t.Fatalf("after the restart running %s, want 3.0.0", v)
	}
	if _, err := d.waitLog(regexp.MustCompile(`firmware: healthy: update committed`), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	// The retained state tells the fleet: 3.0.0 installed, committed.
	state := uplinktest.NewRecorder()
	uplinktest.Subscribe(t, testClient(t, mq.Port(), "cloud"), "packbench/bench-fw/state", state)
	state.Wait(t, 20*time.Second, "firmware in the retained state", func(m []paho.Message) bool {
		if len(m) == 0 {
			return false
		}
		var st uplink.BenchState
		if err := json.Unmarshal(m[len(m)-1].Payload(), &st); err != nil {
			t.Fatal(err)
		}
		fw := st.Firmware
		return fw.Installed == "3.0.0" && fw.Pending == "" && fw.Last != nil && fw.Last.Result == "committed" && fw.Last.Version == "3.0.0"
	})
	d.stop()
}
