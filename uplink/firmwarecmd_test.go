package uplink

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
)

type fakeFirmware struct {
	url string
	sig []byte
}

func (f *fakeFirmware) StartUpdate(url string, sig []byte) (any, error) {
	f.url, f.sig = url, sig
	return map[string]any{"started": true}, nil
}

// TestFirmwareUpdateCommand: firmware.update is offered only with a
// firmware dependency, takes an https URL and a signature, and hands them
// over as given.
func TestFirmwareUpdateCommand(t *testing.T) {
	b := newCmdBench(t)
	ctx := context.Background()
	if slices.Contains(b.cmds.Verbs(), VerbFirmwareUpdate) {
		t.Fatal("firmware.update offered without a firmware dependency")
	}
	if _, err := b.cmds.Do(ctx, VerbFirmwareUpdate, json.RawMessage(`{"url":"https://x/m.json"}`)); !errors.Is(err, ErrUnknownVerb) {
		t.Fatalf("without firmware: %v, want ErrUnknownVerb", err)
	}
	fw := &fakeFirmware{}
	b.cmds.d.Firmware = fw
	if !slices.Contains(b.cmds.Verbs(), VerbFirmwareUpdate) {
		t.Fatal("firmware.update not offered")
	}
	for _, tc := range []struct{ args, want string }{
		{`{"url":"http://x/m.json"}`, "args.url: want the release manifest's https URL"},
		{`{}`, "args.url: want"},
		{`{"url":"https://x/m.json","sig":"x"}`, "args.sig"},
	} {
		if _, err := b.cmds.Do(ctx, VerbFirmwareUpdate, json.RawMessage(tc.args)); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.args, err, tc.want)
		}
	}
	if fw.url != "" {
		t.Fatalf("a refused command started an update: %q", fw.url)
	}
	sig := "untrusted comment: x\nRUQ...\ntrusted comment: y\nzz\n"
	args, _ := json.Marshal(map[string]string{"url": "https://releases.example/1.4.0/manifest.json", "signature": sig})
	res, err := b.cmds.Do(ctx, VerbFirmwareUpdate, args)
	if err != nil || !strings.Contains(mustJSON(t, res), `"started":true`) {
		t.Fatalf("firmware.update: %#v %v", res, err)
	}
	if fw.url != "https://releases.example/1.4.0/manifest.json" || string(fw.sig) != sig {
		t.Fatalf("handed over %q %q", fw.url, fw.sig)
	}
}

// With firmware updates offered, Home Assistant gets an update entity
// (issue 18) that reads the retained state: every field its template reads
// is one the state carries, and it has no install button (an install
// needs a release URL and signature). Without firmware there is none.
func TestDiscoveryFirmwareUpdateEntity(t *testing.T) {
	b := newCmdBench(t)
	cfg := Config{URL: "mqtt://broker", DeviceID: "bench-7", HADiscovery: true}
	m, err := New(cfg, Deps{Queue: b.db, Intake: zplIntake{b.db}, Commands: b.cmds}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := discoveryComponents(t, m)["firmware"]; ok {
		t.Fatal("an update entity without firmware updates")
	}
	b.cmds.d.Firmware = &fakeFirmware{}
	c, ok := discoveryComponents(t, m)["firmware"]
	if !ok {
		t.Fatal("no update entity with firmware updates offered")
	}
	if c["p"] != "update" || c["state_topic"] != m.t.state || c["command_topic"] != nil {
		t.Fatalf("update entity %v", c)
	}
	state, err := json.Marshal(BenchState{Firmware: FirmwareState{Installed: "1.0.0", Latest: "1.1.0", Pending: "1.1.0",
		Update: &FirmwareUpdate{Step: "downloading", Done: 5, Total: 10}}})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(state, &doc); err != nil {
		t.Fatal(err)
	}
	tmpl, _ := c["value_template"].(string)
	paths := regexp.MustCompile(`value_json((?:\.[a-z_]+)+)`).FindAllStringSubmatch(tmpl, -1)
	if len(paths) < 4 {
		t.Fatalf("template reads %d fields: %s", len(paths), tmpl)
	}
	for _, p := range paths {
		var cur any = doc
		for _, k := range strings.Split(strings.TrimPrefix(p[1], "."), ".") {
			obj, ok := cur.(map[string]any)
			if !ok {
				t.Fatalf("template reads %s: not in the state %s", p[1], state)
			}
			if cur, ok = obj[k]; !ok {
				t.Fatalf("template reads %s: %q is not in the state %s", p[1], k, state)
			}
		}
	}
}
