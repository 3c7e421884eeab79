package uplink

import (
	"context"
	"encoding/json"
	"errors"
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
