package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/packbench/packbench/uplink"
	"github.com/packbench/packbench/uplink/uplinktest"
)

// TestZPLAllowThroughConfig runs the real daemon against mosquitto with a
// carrier-style raw ZPL push that carries printer settings (^MMT ^LS0
// ^MD10): without [zpl] allow it is rejected naming the field and the
// command; with allow = ["^LS", "^MM", "^MD"] it prints, and the daemon
// logs one info line with the job id and the commands, not the label.
func TestZPLAllowThroughConfig(t *testing.T) {
	mq := uplinktest.StartMosquitto(t, "")
	emu, addr := emulator(t, nil)
	cloud := testClient(t, mq.Port(), "cloud-zpl")
	const raw = "^XA^MMT^LS0^MD10^FO20,20^A0N,30,30^FD%s^FS^XZ"
	push := func(id string) {
		t.Helper()
		j := uplink.PushJob{ID: id, Type: uplink.PushZPL, ZPL: strings.Replace(raw, "%s", id, 1)}
		if tok := cloud.Publish("packbench/bench-zpl/jobs/push", 1, false, pushPayload(t, j)); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	start := func(extra string) *daemon {
		dir := t.TempDir()
		cfg := benchConfig(t, dir, addr, "[bench]\ndevice_id = \"bench-zpl\"\nlog_level = \"info\"\n"+extra)
		d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + mqttTestKey, "PACKBENCH_MQTT_URL=" + mq.URL()}, "--config", cfg)
		d.key = mqttTestKey
		waitLink(t, d, "connected", connected)
		return d
	}

	// Without [zpl]: refused, naming zpl and ^MM (the first setting).
	events := uplinktest.NewRecorder()
	uplinktest.Subscribe(t, cloud, "packbench/bench-zpl/events", events)
	d := start("")
	push("zpl-refused")
	events.Wait(t, 20*time.Second, "push.rejected for zpl-refused", func(m []paho.Message) bool {
		for _, msg := range m {
			ev := decodeEvent(t, msg)
			var rd uplink.RejectedData
			if ev.Type == uplink.EventPushRejected && json.Unmarshal(ev.Data, &rd) == nil && rd.PushID == "zpl-refused" {
				if rd.Field != "zpl" || !strings.Contains(rd.Rule, "^MM") {
					t.Fatalf("rejected naming %q: %q, want zpl and ^MM", rd.Field, rd.Rule)
				}
				return true
			}
		}
		return false
	})
	if js := jobs(t, d, ""); len(js) != 0 {
		t.Fatalf("%d jobs after a refused push", len(js))
	}
	if strings.Contains(d.log(), "[zpl] allow") {
		t.Fatalf("a refused push logged an allowed setting:\n%s", d.log())
	}
	d.stop()

	// With [zpl] allow: printed once, and logged.
	d = start("[zpl]\nallow = [\"^LS\", \"^MM\", \"^MD\"]\n")
	push("zpl-allowed")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := emu.WaitLabels(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if c := countLabel(emu, "zpl-allowed"); c != 1 {
		t.Fatalf("zpl-allowed printed %d times", c)
	}
	id := url0(t, d, "mqtt:zpl-allowed")
	m, err := d.waitLog(regexp.MustCompile(`(?m)^.*raw ZPL changes printer settings allowed by \[zpl\] allow.*$`), 10*time.Second)
	if err != nil {
		t.Fatalf("%v\n%s", err, d.log())
	}
	line := m[0]
	for _, want := range []string{"INFO", id.String(), "^MM", "^LS", "^MD", "mqtt"} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "zpl-allowed") || strings.Contains(line, "^FO") {
		t.Errorf("log line %q carries the label", line)
	}

	// ^PQ is capped per document and job: 50 formats of ^PQ10 sent 3
	// times would be 1,500 labels, above the 1,000 a job may print.
	many := uplink.PushJob{ID: "zpl-many", Type: uplink.PushZPL, Copies: 3, ZPL: strings.Repeat("^XA^FO20,20^A0N,30,30^FDmany^FS^PQ10^XZ", 50)}
	if tok := cloud.Publish("packbench/bench-zpl/jobs/push", 1, false, pushPayload(t, many)); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	events.Wait(t, 20*time.Second, "push.rejected for zpl-many", func(m []paho.Message) bool {
		for _, msg := range m {
			ev := decodeEvent(t, msg)
			var rd uplink.RejectedData
			if ev.Type == uplink.EventPushRejected && json.Unmarshal(ev.Data, &rd) == nil && rd.PushID == "zpl-many" {
				if rd.Field != "zpl" || !strings.Contains(rd.Rule, "more than 1000") {
					t.Fatalf("rejected naming %q: %q, want zpl and the 1000-label cap", rd.Field, rd.Rule)
				}
				return true
			}
		}
		return false
	})
	if c := countLabel(emu, "many"); c != 0 {
		t.Fatalf("printed %d labels of a refused stream", c)
	}
}
