package uplink

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/packbench/packbench/queue"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestDiscoveryGolden pins the Home Assistant discovery message.
func TestDiscoveryGolden(t *testing.T) {
	db, err := queue.Open(filepath.Join(t.TempDir(), "q.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m, err := New(Config{URL: "mqtt://broker", DeviceID: "bench-7", HADiscovery: true}, Deps{Queue: db, Intake: zplIntake{db}}, &Options{Version: "1.4.0"})
	if err != nil {
		t.Fatal(err)
	}
	if m.t.discovery != "homeassistant/device/bench-7/config" {
		t.Errorf("discovery topic %q", m.t.discovery)
	}
	raw, err := m.discovery()
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	golden := filepath.Join("testdata", "discovery.golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("discovery differs from %s (run with -update if intended):\n%s", golden, pretty.Bytes())
	}
}
