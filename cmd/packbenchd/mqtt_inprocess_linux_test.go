package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/station"
	"github.com/packbench/packbench/uplink"
	"github.com/packbench/packbench/uplink/uplinktest"
)

// TestMQTTInProcess runs the daemon's wiring (newBench, run) in the test
// process, so the race detector sees the link, the intake, the commands
// and the state source working beside the printers, the station and the
// API: an order pushed over MQTT prints when weighed; a label spec and an
// image print and keep their previews under the job id; reprint, cancel,
// retry and zero answer over cmd/<verb>.
func TestMQTTInProcess(t *testing.T) {
	mq := uplinktest.StartMosquitto(t, "")
	_, addr := emulator(t, nil)
	cfg, err := loadConfig("", envMap(map[string]string{"PACKBENCH_MQTT_URL": mq.URL(), "PACKBENCH_DEVICE_ID": "bench-ip"}))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Printers = []device.PrinterConfig{{Name: "zebra", Transport: "tcp", Address: addr}}
	if err := cfg.finish(flagValues{dataDir: t.TempDir(), listen: "127.0.0.1:0"}, envMap(nil), noHome, host); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bn, err := newBench(cfg, mqttTestKey, slog.New(slog.DiscardHandler), &benchOptions{
		Listener: ln, Getenv: envMap(nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bn.run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	poll(t, "link connected", 20*time.Second, func() (bool, error) {
		ls := bn.Links()
		return len(ls) == 1 && ls[0].State == "connected", fmt.Errorf("%+v", ls)
	})

	tctx, tcancel := context.WithTimeout(ctx, 60*time.Second)
	defer tcancel()
	cl, err := uplink.Dial(tctx, uplink.Config{URL: mq.URL()}, "", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	push := func(j uplink.PushJob) {
		t.Helper()
		if err := cl.Push(tctx, "bench-ip", "", &j); err != nil {
			t.Fatal(err)
		}
	}
	waitKey := func(key string, want queue.State) queue.Job {
		t.Helper()
		var j queue.Job
		poll(t, key+" "+string(want), 20*time.Second, func() (bool, error) {
			var err error
			j, err = bn.db.JobByKey(tctx, key)
			return err == nil && j.State == want, err
		})
		return j
	}

	// An order: created under the push id; twice is the same order; it
	// prints when its parcel is weighed.
	order := `{"ship_to":{"name":"Ada Lovelace","street1":"10 Downing Street","city":"London","zip":"SW1A 1AA","country":"GB"},"associated_identifiers":["LPN-MQ-1"]}`
	push(uplink.PushJob{ID: "order-1", Type: uplink.PushOrder, Order: json.RawMessage(order)})
	push(uplink.PushJob{ID: "order-1", Type: uplink.PushOrder, Order: json.RawMessage(order)})
	var o station.Order
	poll(t, "order-1 created", 20*time.Second, func() (bool, error) {
		var err error
		o, err = bn.station.Order(tctx, "order-1")
		return err == nil, err
	})
	if o.Source != "mqtt" {
		t.Errorf("order source %q, want mqtt", o.Source)
	}
	if page, err := bn.station.ListOrders(tctx, station.ListOptions{}); err != nil || len(page.Orders) != 1 {
		t.Fatalf("orders %+v %v: want the one order after two pushes", page, err)
	}
	if _, err := bn.station.Scan(tctx, "LPN-MQ-1"); err != nil {
		t.Fatal(err)
	}
	bn.sim.Place(1_200_000)
	pkg := waitKey("order-1-1", queue.StatePrinted)
	if pkg.Source != queue.SourceFlow {
		t.Errorf("order label job %+v", pkg)
	}

	// A label spec and an image: printed, with previews under the job id.
	spec := `{"from":{"name":"Shipping","street1":"1 Bench St","city":"Springfield","state":"IL","zip":"62701","country":"US"},
		"to":{"name":"Ada Lovelace","street1":"10 Downing Street","city":"London","zip":"SW1A 1AA","country":"GB"},
		"carrier":"LOCAL","service":"GROUND","tracking_number":"PB0000000777"}`
	push(uplink.PushJob{ID: "spec-2", Type: uplink.PushLabel, Label: json.RawMessage(spec), Copies: 2})
	img := testPNG(t)
	push(uplink.PushJob{ID: "png-1", Type: uplink.PushPNG, PNG: img})
	sj := waitKey("mqtt:spec-2", queue.StatePrinted)
	pj := waitKey("mqtt:png-1", queue.StatePrinted)
	if sj.Copies != 2 || !strings.Contains(string(sj.Payload), "PB0000000777") {
		t.Errorf("spec job: copies %d, payload %.80q", sj.Copies, sj.Payload)
	}
	if !strings.Contains(string(pj.Payload), "^GFA") {
		t.Errorf("image job payload %.80q: want a ^GF graphic", pj.Payload)
	}
	get := func(path string) ([]byte, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(tctx, "GET", "http://"+bn.addr()+path, nil)
		req.Header.Set("Authorization", "Bearer "+mqttTestKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return b, resp.Header.Get("Content-Type")
	}
	if b, ct := get("/api/v1/labels/" + sj.ID.String() + ".png"); ct != "image/png" {
		t.Errorf("spec preview: %s", ct)
	} else if im, err := png.Decode(bytes.NewReader(b)); err != nil || im.Bounds().Dx() != 812 {
		t.Errorf("spec preview: %v, want a 4x6 label at 203 dpi", err)
	}
	if b, _ := get("/api/v1/labels/" + pj.ID.String() + ".png"); !bytes.Equal(b, img) {
		t.Errorf("image preview is not the pushed image")
	}

	// Commands.
	var res struct {
		Reference string    `json:"reference"`
		Job       queue.Job `json:"job"`
	}
	raw, err := cl.Command(tctx, "bench-ip", uplink.VerbReprint, map[string]string{"id": "order-1-1"})
	if err != nil || json.Unmarshal(raw, &res) != nil || res.Reference != "order-1-1" || res.Job.Key != "order-1-1-reprint-1" {
		t.Fatalf("reprint: %s %v", raw, err)
	}
	waitKey("order-1-1-reprint-1", queue.StatePrinted)
	if _, err := cl.Command(tctx, "bench-ip", uplink.VerbRetry, map[string]string{"job": pkg.ID.String()}); err == nil || !strings.Contains(err.Error(), "only failed, uncertain or sent jobs") {
		t.Fatalf("retry of a printed job: %v, want the queue's refusal", err)
	}
	// A job for a printer without a worker stays queued: cancel it.
	ghost, _, err := bn.db.Enqueue(tctx, queue.NewJob{Key: "ghost-1", Source: queue.SourceHTTP, Printer: "ghost", ContentType: queue.ContentZPL, Payload: []byte("^XA^XZ")})
	if err != nil {
		t.Fatal(err)
	}
	raw, err = cl.Command(tctx, "bench-ip", uplink.VerbCancel, map[string]string{"job": ghost.ID.String(), "reason": "wrong box"})
	var cj queue.Job
	if err != nil || json.Unmarshal(raw, &cj) != nil || cj.State != queue.StateCancelled || len(cj.History) == 0 || cj.History[len(cj.History)-1].Reason != "wrong box" {
		t.Fatalf("cancel: %s %v", raw, err)
	}
	if _, err := cl.Command(tctx, "bench-ip", uplink.VerbCancel, map[string]string{"job": "j-nope"}); err == nil || !strings.Contains(err.Error(), "args.job") {
		t.Fatalf("cancel of a bad id: %v, want args.job named", err)
	}
	// The scale's readings go out on the weight topic.
	weights := uplinktest.NewRecorder()
	uplinktest.Subscribe(t, testClient(t, mq.Port(), "watcher"), "packbench/bench-ip/weight", weights)
	bn.sim.Place(900_000)
	poll(t, "a reading of 900 g", 10*time.Second, func() (bool, error) {
		r, ok := bn.link.Latest()
		return ok && r.Milligrams == 900_000, nil
	})
	weights.Wait(t, 10*time.Second, "900 g on the weight topic", func(m []paho.Message) bool {
		for _, msg := range m {
			var r struct {
				Milligrams int64 `json:"milligrams"`
			}
			if json.Unmarshal(msg.Payload(), &r) == nil && r.Milligrams == 900_000 {
				return true
			}
		}
		return false
	})
	if _, err := cl.Command(tctx, "bench-ip", uplink.VerbZero, nil); err != nil {
		t.Fatal(err)
	}
	if r := bn.sim.Current(); r.Milligrams != 0 || r.Status != scale.StatusZero {
		t.Fatalf("after zero: %+v", r)
	}
}

// testPNG is a 4x6-ish label image: white with a black frame.
func testPNG(t *testing.T) []byte {
	t.Helper()
	im := image.NewGray(image.Rect(0, 0, 400, 600))
	for y := range 600 {
		for x := range 400 {
			c := color.Gray{Y: 255}
			if x < 20 || y < 20 || x >= 380 || y >= 580 {
				c.Y = 0
			}
			im.SetGray(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, im); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
