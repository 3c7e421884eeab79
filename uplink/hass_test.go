package uplink

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestDiscoveryGolden pins the Home Assistant discovery message.
func TestDiscoveryGolden(t *testing.T) {
	db, err := queue.Open(filepath.Join(t.TempDir(), "q.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deps := Deps{Queue: db, Intake: zplIntake{db}, Commands: newCmdBench(t).cmds, Weights: make(chan scale.Reading)}
	m, err := New(Config{URL: "mqtt://broker", DeviceID: "bench-7", HADiscovery: true}, deps, &Options{Version: "1.4.0"})
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

// TestDiscoveryAnswered: every command Home Assistant is told about is
// answered by the daemon's command set (BenchCommands on a real station,
// queue and scale), with the payload the button sends; a link without
// commands or weights advertises neither.
func TestDiscoveryAnswered(t *testing.T) {
	b := newCmdBench(t)
	cfg := Config{URL: "mqtt://broker", DeviceID: "bench-7", HADiscovery: true}
	m, err := New(cfg, Deps{Queue: b.db, Intake: zplIntake{b.db}, Commands: b.cmds, Weights: make(chan scale.Reading)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cmps := discoveryComponents(t, m)
	var verbs []string
	for name, c := range cmps {
		for _, k := range []string{"command_topic", "state_topic"} {
			topic, _ := c[k].(string)
			if topic == "" {
				continue
			}
			if k == "state_topic" {
				if topic != m.t.state && topic != m.t.weight {
					t.Errorf("%s: state_topic %q is not one the link publishes", name, topic)
				}
				continue
			}
			verb, ok := strings.CutPrefix(topic, m.t.cmd)
			if !ok {
				t.Errorf("%s: command_topic %q is not under %s", name, topic, m.t.cmd)
				continue
			}
			verbs = append(verbs, verb)
			press, _ := c["payload_press"].(string)
			if c["p"] != "button" || press == "" {
				t.Errorf("%s: a command other than a button (%v), or one without its payload", name, c["p"])
			}
			resp := m.answer(context.Background(), verb, []byte(press))
			if !resp.OK || resp.ID != "homeassistant" {
				t.Errorf("%s: cmd/%s with %s is answered %+v", name, verb, press, resp)
			}
		}
	}
	slices.Sort(verbs)
	if want := []string{VerbTare, VerbTestPrint}; !slices.Equal(verbs, want) {
		t.Errorf("advertised commands %v, want %v", verbs, want)
	}
	if _, ok := cmps["weight"]; !ok {
		t.Error("no weight sensor although the link publishes weights")
	}

	bare, err := New(cfg, Deps{Queue: b.db, Intake: zplIntake{b.db}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name := range discoveryComponents(t, bare) {
		if name != "printer" && name != "queue_depth" {
			t.Errorf("a link without commands or weights advertises %q", name)
		}
	}
}

func discoveryComponents(t *testing.T, m *MQTT) map[string]map[string]any {
	t.Helper()
	raw, err := m.discovery()
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Cmps map[string]map[string]any `json:"cmps"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return d.Cmps
}
