package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/packbench/packbench/uplink"
	"github.com/packbench/packbench/uplink/uplinktest"
)

// procStatusKB reads one "Vm…: N kB" line of /proc/<pid>/status.
func procStatusKB(t testing.TB, pid int, key string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s: %q: %v", key, sc.Text(), err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", key, pid)
	return 0
}

// TestMQTTHugePushBoundedMemory is the red team's 150 MB message, through
// the real daemon and a mosquitto that forwards it (its size limits
// lifted): the push is refused with a push.rejected event giving its size
// and the limit, the daemon's peak RSS (VmHWM) stays under 64 MB, and the
// next push prints. It took the daemon from 19 MB to 867 MB before.
func TestMQTTHugePushBoundedMemory(t *testing.T) {
	const size = 150 << 20
	mq := uplinktest.StartMosquitto(t, "max_packet_size 268435455\n")
	emu, addr := emulator(t, nil)
	dir := t.TempDir()
	cfg := benchConfig(t, dir, addr, "[bench]\ndevice_id = \"bench-big\"\n")
	cloud := testClient(t, mq.Port(), "cloud-big")
	events := uplinktest.NewRecorder()
	uplinktest.Subscribe(t, cloud, "packbench/bench-big/events", events)
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + mqttTestKey, "PACKBENCH_MQTT_URL=" + mq.URL()}, "--config", cfg)
	d.key = mqttTestKey
	waitLink(t, d, "connected", connected)
	pid := d.cmd.Process.Pid
	startHWM := procStatusKB(t, pid, "VmHWM")

	err := uplinktest.RawPublish(fmt.Sprintf("127.0.0.1:%d", mq.Port()), "raw-big", uplinktest.LargePublish{
		Topic: "packbench/bench-big/jobs/push", QoS: 1, Size: size,
		Head: []byte(`{"id":"huge-1","type":"zpl","zpl":"^XA^FO20,20^FD`), Tail: []byte(`^FS^XZ"}`),
	}, 2*time.Minute)
	if err != nil {
		t.Fatalf("publish %d bytes: %v", size, err)
	}
	want := fmt.Sprintf("push refused: %d bytes, limit %d", size, uplink.DefaultMaxMessage)
	events.Wait(t, 60*time.Second, "push.rejected for the 150 MB push", func(m []paho.Message) bool {
		for _, msg := range m {
			ev := decodeEvent(t, msg)
			var rd uplink.RejectedData
			if ev.Type == uplink.EventPushRejected && json.Unmarshal(ev.Data, &rd) == nil && rd.Rule == want && rd.Field == "$" {
				return true
			}
		}
		return false
	})
	hwm := procStatusKB(t, pid, "VmHWM")
	t.Logf("daemon peak RSS (VmHWM): %d kB before, %d kB after a %d MB push was refused", startHWM, hwm, size>>20)
	if hwm >= 64<<10 {
		t.Errorf("daemon peak RSS %d kB, want < 64 MB", hwm)
	}

	if tok := cloud.Publish("packbench/bench-big/jobs/push", 1, false, pushPayload(t, uplink.PushJob{ID: "after-big", Type: uplink.PushZPL, ZPL: zplFor("after-big")})); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := emu.WaitLabels(ctx, 1); err != nil {
		t.Fatalf("the push after the refused one: %v", err)
	}
	if l := emu.Labels(); len(l) != 1 || labelID(l[0]) != "after-big" {
		t.Fatalf("labels %q, want after-big only", l)
	}
	if !strings.Contains(d.log(), "mqtt: push rejected") || !strings.Contains(d.log(), want) {
		t.Errorf("no log line for the refused push:\n%s", d.log())
	}
	if strings.Contains(d.log(), "xxxxxxxxxxxxxxxx") {
		t.Errorf("the log carries the refused payload")
	}
}
