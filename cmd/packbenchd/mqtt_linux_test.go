package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/device/devicetest"
	"github.com/packbench/packbench/internal/datadir"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
	"github.com/packbench/packbench/uplink"
	"github.com/packbench/packbench/uplink/uplinktest"
)

const mqttTestKey = "mqtt-test-key-0123456789abcdef0123456789abcdef"

func health(t *testing.T, d *daemon) api.Health {
	t.Helper()
	var h api.Health
	if _, err := d.callKey(d.key, "GET", "/api/v1/health", nil, &h); err != nil { // the key adds why a link is down
		t.Fatal(err)
	}
	return h
}

// waitLink polls the health until the mqtt link satisfies ok.
func waitLink(t *testing.T, d *daemon, what string, ok func(api.LinkHealth) bool) api.Health {
	t.Helper()
	var h api.Health
	poll(t, "mqtt link "+what, 20*time.Second, func() (bool, error) {
		if _, err := d.callKey(d.key, "GET", "/api/v1/health", nil, &h); err != nil { // the key adds why a link is down
			return false, err
		}
		if len(h.Links) != 1 || h.Links[0].Name != "mqtt" {
			return false, fmt.Errorf("links %+v", h.Links)
		}
		return ok(h.Links[0]), fmt.Errorf("link %+v", h.Links[0])
	})
	return h
}

func connected(l api.LinkHealth) bool { return l.State == "connected" }

func pushPayload(t testing.TB, j uplink.PushJob) []byte {
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func zplFor(id string) string { return "^XA^FO20,20^A0N,30,30^FD" + id + "^FS^XZ" }

// labelID is the ^FD text of a test label: its push id.
func labelID(label []byte) string {
	s := string(label)
	i := strings.Index(s, "^FD")
	if i < 0 {
		return ""
	}
	s = s[i+3:]
	if j := strings.Index(s, "^FS"); j >= 0 {
		return s[:j]
	}
	return s
}

func decodeEvent(t testing.TB, m paho.Message) queue.Event {
	t.Helper()
	var ev queue.Event
	if err := json.Unmarshal(m.Payload(), &ev); err != nil {
		t.Fatalf("event %q: %v", m.Payload(), err)
	}
	return ev
}

func jobs(t *testing.T, d *daemon, query string) []queue.Job {
	t.Helper()
	var page struct {
		Jobs []queue.Job `json:"jobs"`
	}
	d.must("GET", "/api/v1/jobs?limit=500"+query, nil, &page)
	return page.Jobs
}

// TestMQTTPushes runs the real daemon against mosquitto: 1,000 pushed ZPL
// jobs print at the emulator exactly once each and their events reach the
// events topic; the same id pushed twice is one job; invalid pushes are
// answered with push.rejected naming the field; commands answer; the
// retained state carries the printers and the firmware; the health and
// the config view show the link.
func TestMQTTPushes(t *testing.T) {
	const n = 1000
	mq := uplinktest.StartMosquitto(t, "")
	emu, addr := emulator(t, nil)
	dir := t.TempDir()
	cfg := benchConfig(t, dir, addr, "[bench]\ndevice_id = \"bench-m1\"\n")
	cloud := testClient(t, mq.Port(), "cloud")
	events := uplinktest.NewRecorder()
	uplinktest.Subscribe(t, cloud, "packbench/bench-m1/events", events)

	// MQTT on through the environment, as fleets provision it.
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + mqttTestKey, "PACKBENCH_MQTT_URL=" + mq.URL()}, "--config", cfg)
	d.key = mqttTestKey
	h := waitLink(t, d, "connected", connected)
	if h.Status != api.HealthOK {
		t.Errorf("health %s %v with the link up, want ok", h.Status, h.Problems)
	}
	if !strings.Contains(d.log(), `mqtt="`+mq.URL()+` as bench-m1"`) {
		t.Errorf("the ready line does not name the broker and device id:\n%s", d.log())
	}

	// 1,000 jobs, published at QoS 1 as fast as the broker takes them.
	start := time.Now()
	toks := make([]paho.Token, n)
	for i := range n {
		id := fmt.Sprintf("job-%04d", i)
		toks[i] = cloud.Publish("packbench/bench-m1/jobs/push", 1, false, pushPayload(t, uplink.PushJob{ID: id, Type: uplink.PushZPL, ZPL: zplFor(id)}))
	}
	for i, tok := range toks {
		if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %d: %v", i, tok.Error())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := emu.WaitLabels(ctx, n); err != nil {
		t.Fatalf("labels at the emulator: %v (got %d)", err, len(emu.Labels()))
	}
	printedIn := time.Since(start)
	got := map[string]int{}
	for _, l := range emu.Labels() {
		got[labelID(l)]++
	}
	for i := range n {
		if id := fmt.Sprintf("job-%04d", i); got[id] != 1 {
			t.Errorf("%s printed %d times, want once", id, got[id])
		}
	}
	events.Wait(t, 60*time.Second, "queued and printed events for all 1,000 jobs", func(m []paho.Message) bool {
		queued, printed := map[string]bool{}, map[string]bool{}
		for _, msg := range m {
			ev := decodeEvent(t, msg)
			switch {
			case ev.Type == queue.EventJobQueued:
				queued[ev.Key] = true
			case ev.Type == queue.EventJobState && ev.To == queue.StatePrinted:
				printed[ev.Key] = true
			}
		}
		return len(queued) == n && len(printed) == n
	})
	t.Logf("%d pushed jobs printed in %v (%.0f jobs/s) through mosquitto, the daemon and the emulator", n, printedIn, n/printedIn.Seconds())
	if h := health(t, d); h.Queue.Jobs[queue.StatePrinted] != n {
		t.Fatalf("queue %v, want %d printed", h.Queue.Jobs, n)
	}

	// The same id pushed twice (a cloud retry): one job, one label.
	for range 2 {
		if tok := cloud.Publish("packbench/bench-m1/jobs/push", 1, false, pushPayload(t, uplink.PushJob{ID: "dup-1", Type: uplink.PushZPL, ZPL: zplFor("dup-1"), Printer: "zebra"})); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	if _, err := d.waitLog(regexp.MustCompile(`mqtt push already taken.* id=dup-1`), 20*time.Second); err != nil {
		t.Fatalf("the second push of dup-1 was not recognised: %v", err)
	}
	var dup queue.Job
	d.must("GET", "/api/v1/jobs/"+url0(t, d, "mqtt:dup-1").String(), nil, &dup)
	if dup.Source != queue.SourceMQTT || dup.Key != "mqtt:dup-1" {
		t.Fatalf("dup job %+v", dup)
	}
	poll(t, "dup-1 printed", 20*time.Second, func() (bool, error) {
		var j queue.Job
		_, err := d.call("GET", "/api/v1/jobs/"+dup.ID.String(), nil, &j)
		return j.State == queue.StatePrinted, err
	})
	if c := countLabel(emu, "dup-1"); c != 1 {
		t.Fatalf("dup-1 printed %d times, want once", c)
	}

	// Invalid pushes are acknowledged and answered with push.rejected
	// naming the field: device commands in ZPL, an unknown printer, a
	// label spec missing a field.
	for _, tc := range []struct {
		job   uplink.PushJob
		field string
	}{
		{uplink.PushJob{ID: "bad-zpl", Type: uplink.PushZPL, ZPL: "^XA^FDx^FS^XZ~JR"}, "zpl"},
		{uplink.PushJob{ID: "bad-printer", Type: uplink.PushZPL, ZPL: zplFor("x"), Printer: "nope"}, "printer"},
		{uplink.PushJob{ID: "bad-label", Type: uplink.PushLabel, Label: json.RawMessage(`{"from":{},"carrier":"X","service":"Y","tracking_number":"1"}`)}, "label.from.name"},
	} {
		if tok := cloud.Publish("packbench/bench-m1/jobs/push", 1, false, pushPayload(t, tc.job)); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		events.Wait(t, 20*time.Second, "push.rejected for "+tc.job.ID, func(m []paho.Message) bool {
			for _, msg := range m {
				ev := decodeEvent(t, msg)
				var rd uplink.RejectedData
				if ev.Type == uplink.EventPushRejected && json.Unmarshal(ev.Data, &rd) == nil && rd.PushID == tc.job.ID {
					if !strings.HasPrefix(rd.Field, tc.field) {
						t.Fatalf("%s rejected naming %q (%s), want %q", tc.job.ID, rd.Field, rd.Rule, tc.field)
					}
					return true
				}
			}
			return false
		})
	}

	// A label spec renders on the bench at its label size and prints.
	spec := `{"from":{"name":"Shipping","street1":"1 Bench St","city":"Springfield","state":"IL","zip":"62701","country":"US"},
		"to":{"name":"Ada Lovelace","street1":"10 Downing Street","city":"London","zip":"SW1A 1AA","country":"GB"},
		"carrier":"LOCAL","service":"GROUND","tracking_number":"PB0000000421"}`
	before := len(emu.Labels())
	if tok := cloud.Publish("packbench/bench-m1/jobs/push", 1, false, pushPayload(t, uplink.PushJob{ID: "spec-1", Type: uplink.PushLabel, Label: json.RawMessage(spec)})); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if err := emu.WaitLabels(ctx, before+1); err != nil {
		t.Fatal(err)
	}
	if l := string(emu.Labels()[before]); !strings.Contains(l, "PB0000000421") || !strings.Contains(l, "^PW812") {
		t.Fatalf("the label spec printed as %.200q, want the tracking number at 812 dots wide", l)
	}

	// Commands: config-get (no secrets), test-print, an unknown verb.
	cl, err := uplink.Dial(ctx, uplink.Config{URL: mq.URL()}, "", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	raw, err := cl.Command(ctx, "bench-m1", uplink.VerbConfigGet, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), mqttTestKey) || !strings.Contains(string(raw), `"device_id":"bench-m1"`) {
		t.Fatalf("config-get: %s", raw)
	}
	raw, err = cl.Command(ctx, "bench-m1", uplink.VerbTestPrint, map[string]string{"printer": "zebra"})
	if err != nil {
		t.Fatal(err)
	}
	var tj queue.Job
	if err := json.Unmarshal(raw, &tj); err != nil || tj.Printer != "zebra" {
		t.Fatalf("test-print: %s (%v)", raw, err)
	}
	if err := emu.WaitLabels(ctx, before+2); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(emu.Labels()[before+1]), "PACKBENCH TEST PRINT") {
		t.Fatalf("test print label: %q", emu.Labels()[before+1])
	}
	if _, err := cl.Command(ctx, "bench-m1", uplink.VerbCancel, map[string]string{"job": tj.ID.String(), "colour": "red"}); err == nil || !strings.Contains(err.Error(), "args.colour") {
		t.Fatalf("cancel with an unknown argument: %v, want it named", err)
	}
	if _, err := cl.Command(ctx, "bench-m1", "self-destruct", nil); err == nil || !strings.Contains(err.Error(), "unknown command verb") {
		t.Fatalf("unknown verb: %v", err)
	}

	// The retained state: the printer, the scale, the flow and the version.
	state := uplinktest.NewRecorder()
	uplinktest.Subscribe(t, cloud, "packbench/bench-m1/state", state)
	state.Wait(t, 20*time.Second, "retained state", func(m []paho.Message) bool {
		if len(m) == 0 {
			return false
		}
		var st struct {
			uplink.BenchState
			DeviceID string `json:"device_id"`
		}
		if err := json.Unmarshal(m[len(m)-1].Payload(), &st); err != nil {
			t.Fatal(err)
		}
		return st.DeviceID == "bench-m1" && len(st.Printers) == 1 && st.Printers[0].Name == "zebra" &&
			st.Printers[0].State == "ready" && st.Flow == "idle" && st.Scale != nil && st.Firmware.Installed == "dev"
	})
	// Headless health: an unknown code puts its attention code, the LED's
	// mode and blink code in the retained state (the flow stays idle).
	if code, _ := d.call("POST", "/api/v1/flow/scan", map[string]string{"code": "NO-SUCH-CODE"}, nil); code != 404 {
		t.Fatalf("unknown code: %d", code)
	}
	state.Wait(t, 20*time.Second, "attention in the retained state", func(m []paho.Message) bool {
		var st uplink.BenchState
		if len(m) == 0 || json.Unmarshal(m[len(m)-1].Payload(), &st) != nil {
			return false
		}
		return st.Flow == "idle" && st.LED == station.LEDAttention && st.Blinks == 1 && slices.Equal(st.Attention, []string{station.ProblemNoOrder})
	})

	// A clean stop says offline on the retained status topic.
	status := uplinktest.NewRecorder()
	uplinktest.Subscribe(t, cloud, "packbench/bench-m1/status", status)
	status.Wait(t, 10*time.Second, "online", func(m []paho.Message) bool {
		return len(m) > 0 && string(m[len(m)-1].Payload()) == "online"
	})
	d.stop()
	status.Wait(t, 10*time.Second, "offline after SIGTERM", func(m []paho.Message) bool {
		return len(m) > 0 && string(m[len(m)-1].Payload()) == "offline"
	})
}

// url0 finds a job by its idempotency key through the API's job list.
func url0(t *testing.T, d *daemon, key string) queue.JobID {
	t.Helper()
	found := jobsWhere(t, d, func(j queue.Job) bool { return j.Key == key })
	if len(found) != 1 {
		t.Fatalf("%d jobs with key %s, want exactly 1", len(found), key)
	}
	return found[0].ID
}

func countLabel(emu *devicetest.Emulator, id string) int {
	n := 0
	for _, l := range emu.Labels() {
		if labelID(l) == id {
			n++
		}
	}
	return n
}

// TestMQTTNoTestHookInProduction: the binary built without the
// packbench_testhooks tag carries no trace of the crash hook, so no
// environment variable can make a bench exit after a commit.
func TestMQTTNoTestHookInProduction(t *testing.T) {
	for _, c := range []struct {
		bin  string
		want bool
	}{{daemonBin, false}, {hooksBin, true}} {
		b, err := os.ReadFile(c.bin)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{testExitAfterCommitEnv, "TEST HOOK: exiting after the commit"} {
			if got := bytes.Contains(b, []byte(s)); got != c.want {
				t.Errorf("%s contains %q: %v, want %v", filepath.Base(c.bin), s, got, c.want)
			}
		}
	}
}

// TestMQTTKilledBeforeAck: the daemon dies (test hook) after committing a
// pushed order and before acknowledging it; the broker redelivers the push
// to the restarted daemon, which recognises the order, and its label
// prints once. The push is an order so that nothing is there to print
// before the crash: a pushed print job could be claimed by the printer
// worker in the instant before the exit, and a job caught mid-send is
// (rightly) recovered as uncertain, not printed.
func TestMQTTKilledBeforeAck(t *testing.T) {
	mq := uplinktest.StartMosquitto(t, "")
	emu, addr := emulator(t, nil)
	dir := t.TempDir()
	cfg := benchConfig(t, dir, addr, fmt.Sprintf("[mqtt]\nurl = %q\ndevice_id = \"bench-k\"\n", mq.URL()))
	env := []string{"PACKBENCH_API_KEY=" + mqttTestKey}
	d := startDaemonBin(t, hooksBin, dir, append(env, testExitAfterCommitEnv+"=1"), "--config", cfg)
	waitLink(t, d, "connected", connected)
	cloud := testClient(t, mq.Port(), "cloud")
	order := json.RawMessage(`{"ship_to":{"name":"Ada Lovelace","street1":"10 Downing Street","city":"London","zip":"SW1A 1AA","country":"GB"},"associated_identifiers":["LPN-CRASH-1"]}`)
	if tok := cloud.Publish("packbench/bench-k/jobs/push", 1, false, pushPayload(t, uplink.PushJob{ID: "crash-1", Type: uplink.PushOrder, Order: order})); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	select {
	case <-d.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("the test hook did not end the daemon\n%s", d.log())
	}
	var ee *exec.ExitError
	if !errors.As(d.err, &ee) || ee.ExitCode() != 3 || !strings.Contains(d.log(), "TEST HOOK: exiting after the commit") {
		t.Fatalf("daemon exit %v, want status 3 from the hook\n%s", d.err, d.log())
	}

	d2 := startDaemonBin(t, hooksBin, dir, env, "--config", cfg)
	d2.key = mqttTestKey
	if strings.Contains(d2.log(), "TEST HOOK") {
		t.Fatal("the test hook is on without its variable")
	}
	// The broker redelivers the unacknowledged push; the restarted daemon
	// finds the order committed before the crash.
	if _, err := d2.waitLog(regexp.MustCompile(`mqtt push already taken.* id=crash-1`), 20*time.Second); err != nil {
		t.Fatalf("no redelivery recognised: %v\n%s", err, d2.log())
	}
	var orders struct {
		Orders []station.Order `json:"orders"`
	}
	d2.must("GET", "/api/v1/orders", nil, &orders)
	if len(orders.Orders) != 1 || orders.Orders[0].ID != "crash-1" {
		t.Fatalf("orders after the redelivery: %+v, want crash-1 once", orders.Orders)
	}
	// Its parcel is weighed: one label.
	d2.must("POST", "/api/v1/flow/scan", map[string]string{"code": "LPN-CRASH-1"}, nil)
	d2.must("POST", "/api/v1/scale/sim", map[string]any{"grams": 1250}, nil)
	f := waitFlow(t, d2, "crash-1's label printed", func(f station.FlowState) bool { return f.JobState == queue.StatePrinted })
	if f.Order == nil || f.Order.ID != "crash-1" {
		t.Fatalf("flow %+v: want order crash-1", f)
	}
	if js := jobs(t, d2, ""); len(js) != 1 {
		t.Fatalf("%d jobs after the redelivery, want 1: %+v", len(js), js)
	}
	if n := len(emu.Labels()); n != 1 {
		t.Fatalf("%d labels at the emulator, want 1", n)
	}
	d2.stop()
}

// TestMQTTTLS: mosquitto with a TLS listener signed by a test CA. With the
// CA in [mqtt] ca_file the daemon connects; with a wrong CA it keeps
// running, logs a message naming the CA file, and the health reports the
// link disconnected with that reason.
func TestMQTTTLS(t *testing.T) {
	certs := t.TempDir()
	ca, cert, key := uplinktest.NewTestCA(t, certs, "good")
	wrongCA, _, _ := uplinktest.NewTestCA(t, certs, "wrong")
	mq := uplinktest.StartMosquitto(t, fmt.Sprintf("cafile %s\ncertfile %s\nkeyfile %s\n", ca, cert, key))
	url := fmt.Sprintf("mqtts://127.0.0.1:%d", mq.Port())
	_, addr := emulator(t, nil)
	env := []string{"PACKBENCH_API_KEY=" + mqttTestKey}

	dir := t.TempDir()
	good := startDaemon(t, dir, env, "--config", benchConfig(t, dir, addr, fmt.Sprintf("[mqtt]\nurl = %q\ndevice_id = \"bench-tls\"\nca_file = %q\n", url, ca)))
	waitLink(t, good, "connected over TLS", connected)

	dir2 := t.TempDir()
	bad := startDaemon(t, dir2, env, "--config", benchConfig(t, dir2, addr, fmt.Sprintf("[mqtt]\nurl = %q\ndevice_id = \"bench-wrong\"\nca_file = %q\n", url, wrongCA)))
	bad.key = mqttTestKey
	h := waitLink(t, bad, "disconnected naming the CA file", func(l api.LinkHealth) bool {
		return l.State == "disconnected" && strings.Contains(l.Error, wrongCA)
	})
	if l := h.Links[0]; !strings.Contains(l.Error, "not trusted") || !strings.Contains(l.Error, "mqtt.ca_file") {
		t.Errorf("link error %q: want it to say the certificate is not trusted by mqtt.ca_file", l.Error)
	}
	if h.Status != api.HealthDegraded || !strings.Contains(strings.Join(h.Problems, "\n"), "mqtt: disconnected") {
		t.Errorf("health %s %v, want degraded naming the mqtt link", h.Status, h.Problems)
	}
	if _, err := bad.waitLog(regexp.MustCompile(`mqtt: link down.*`+regexp.QuoteMeta(wrongCA)), 10*time.Second); err != nil {
		t.Errorf("no log line naming the CA file: %v", err)
	}
	// The bench itself goes on: the API answers and the daemon stops cleanly.
	var ps struct {
		Printers []api.PrinterInfo `json:"printers"`
	}
	bad.must("GET", "/api/v1/printers", nil, &ps)
	if len(ps.Printers) != 1 {
		t.Fatalf("printers %+v", ps.Printers)
	}
	bad.stop()
	good.stop()
}

// TestMQTTOff: without a url the link is off, the health lists no link,
// and the outbox consumer "mqtt" a previous run left is removed so events
// are not kept for it.
func TestMQTTOff(t *testing.T) {
	dir := t.TempDir()
	db, err := queue.Open(filepath.Join(dir, datadir.DataFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddConsumer(context.Background(), uplink.DefaultConsumer); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + mqttTestKey})
	if h := health(t, d); len(h.Links) != 0 {
		t.Fatalf("links %+v with MQTT off", h.Links)
	}
	if !strings.Contains(d.log(), "mqtt=off") {
		t.Errorf("the ready line does not say mqtt=off:\n%s", d.log())
	}
	d.stop()
	db, err = queue.Open(filepath.Join(dir, datadir.DataFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cs, err := db.Consumers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cs[uplink.DefaultConsumer]; ok {
		t.Fatalf("consumers %v: the mqtt consumer was kept with MQTT off", cs)
	}
}
