package devicetest

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/device"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func startEmu(t *testing.T, o *Options) (*Emulator, string) {
	t.Helper()
	e := NewEmulator(o)
	addr, err := e.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, addr
}

// readHS reads one full ~HS reply (three frames) from c.
func readHS(t *testing.T, c net.Conn) device.Status {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var buf []byte
	tmp := make([]byte, 256)
	for {
		if f, _ := device.SplitFrames(buf); len(f) == 3 {
			break
		}
		n, err := c.Read(tmp)
		if err != nil {
			t.Fatalf("read ~HS reply: %v (have %q)", err, buf)
		}
		buf = append(buf, tmp[:n]...)
	}
	s, err := device.ParseHostStatus(buf)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEmulatorSplitsLabelsAndAnswersStatus(t *testing.T) {
	ctx := testCtx(t)
	var seen []int
	e, addr := startEmu(t, &Options{OnLabel: func(n int, _ []byte) { seen = append(seen, n) }})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Two labels, a status request between them, split across writes at
	// awkward places, with noise outside the formats.
	stream := "\r\n^XA^LL100^FO10,10^FDone^FS^XZ\r\n~HS^XA^FDtwo^FS^PQ2^XZ"
	for _, part := range []string{stream[:5], stream[5:30], stream[30:33], stream[33:]} {
		if _, err := c.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.WaitLabels(ctx, 2); err != nil {
		t.Fatal(err)
	}
	got := e.Labels()
	if string(got[0]) != "^XA^LL100^FO10,10^FDone^FS^XZ" || string(got[1]) != "^XA^FDtwo^FS^PQ2^XZ" {
		t.Fatalf("labels %q", got)
	}
	s := readHS(t, c)
	if s.State.Blocking() || s.LabelLength == 0 {
		t.Fatalf("status %+v", s)
	}
	if err := e.WaitPrinted(ctx, 2); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("~HS"))
	if s := readHS(t, c); s.State != device.StateReady || s.FormatsInBuffer != 0 || s.LabelsRemaining != 0 || s.LabelLength != 100 {
		t.Fatalf("after printing: %+v", s)
	}
	if len(seen) != 2 || seen[0] != 1 || seen[1] != 2 {
		t.Fatalf("OnLabel saw %v", seen)
	}
}

func TestEmulatorSilentInPaperOutAndHeadOpen(t *testing.T) {
	e, addr := startEmu(t, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		name string
		set  func(bool)
		flag uint64
	}{{"paper out", e.SetPaperOut, device.ErrFlagMediaOut}, {"head open", e.SetHeadOpen, device.ErrFlagHeadOpen},
		{"ribbon out", e.SetRibbonOut, device.ErrFlagRibbonOut}} {
		tc.set(true)
		// ~HS must get no answer; ~HQES right after it must. If the ~HS
		// had been answered, its frames would arrive first.
		c.Write([]byte("~HS~HQES"))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var buf []byte
		tmp := make([]byte, 512)
		for {
			if f, _ := device.SplitFrames(buf); len(f) >= 1 {
				break
			}
			n, err := c.Read(tmp)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			buf = append(buf, tmp[:n]...)
		}
		ef, _, err := device.ParseExtendedStatus(buf)
		if err != nil {
			t.Fatalf("%s: first reply is not ~HQES (was ~HS answered?): %v %q", tc.name, err, buf)
		}
		if ef != tc.flag {
			t.Fatalf("%s: error flags %x, want %x", tc.name, ef, tc.flag)
		}
		tc.set(false)
	}
	e.SetPaused(true)
	c.Write([]byte("~HS"))
	if s := readHS(t, c); s.State != device.StatePaused {
		t.Fatalf("paused: %+v", s)
	}
}

func TestEmulatorControlHTTP(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	e, addr := startEmu(t, &Options{SaveDir: dir})
	srv := httptest.NewServer(e.ControlHandler())
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/state", "application/json", strings.NewReader(`{"paper_out":true,"speed":6}`))
	if err != nil {
		t.Fatal(err)
	}
	var st State
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if resp.StatusCode != 200 || !st.PaperOut || st.Speed != 6 || !e.Snapshot().PaperOut {
		t.Fatalf("POST /state: %d %+v", resp.StatusCode, st)
	}
	resp, _ = http.Post(srv.URL+"/state", "application/json", strings.NewReader(`{"paper_oot":true}`))
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("unknown field: status %d", resp.StatusCode)
	}
	resp, _ = http.Post(srv.URL+"/state", "application/json", strings.NewReader(`{"paper_out":false,"speed":0}`))
	resp.Body.Close()

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("^XA^FDa^FS^XZ^XA^FDbb^FS^XZ"))
	c.Close()
	if err := e.WaitLabels(ctx, 2); err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(srv.URL + "/labels?since=1")
	if err != nil {
		t.Fatal(err)
	}
	var ll LabelList
	json.NewDecoder(resp.Body).Decode(&ll)
	resp.Body.Close()
	if ll.Count != 2 || len(ll.Labels) != 1 || ll.Labels[0].Index != 2 || ll.Labels[0].ZPL != "^XA^FDbb^FS^XZ" {
		t.Fatalf("GET /labels: %+v", ll)
	}
	saved, err := os.ReadFile(ll.Labels[0].File)
	if err != nil || !bytes.Equal(saved, []byte("^XA^FDbb^FS^XZ")) || filepath.Dir(ll.Labels[0].File) != dir {
		t.Fatalf("saved file %q: %q %v", ll.Labels[0].File, saved, err)
	}
	resp, err = http.Get(srv.URL + "/state")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.Received != 2 || st.PaperOut {
		t.Fatalf("GET /state: %+v", st)
	}
}

func TestEmulatorPowerCycle(t *testing.T) {
	ctx := testCtx(t)
	e, addr := startEmu(t, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("^XA^FD1^FS^XZ"))
	if err := e.WaitLabels(ctx, 1); err != nil {
		t.Fatal(err)
	}
	e.PowerOff()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open after PowerOff")
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Fatal("dial succeeded while powered off")
	}
	if err := e.PowerOn(); err != nil {
		t.Fatal(err)
	}
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.Write([]byte("^XA^FD2^FS^XZ"))
	if err := e.WaitLabels(ctx, 2); err != nil {
		t.Fatal(err)
	}
}

func TestSourceFIFO(t *testing.T) {
	ctx := testCtx(t)
	s := NewSource()
	s.Add(device.Job{ID: "a"}, device.Job{ID: "b"})
	a, _ := s.Next(ctx)
	if err := s.Hold(ctx, a.ID, "paper out"); err != nil {
		t.Fatal(err)
	}
	again, _ := s.Next(ctx)
	if again.ID != "a" {
		t.Fatalf("after hold got %q, want a again", again.ID)
	}
	if err := s.Done(ctx, "a", device.Result{Outcome: device.Printed}); err != nil {
		t.Fatal(err)
	}
	if err := s.Done(ctx, "a", device.Result{}); err == nil {
		t.Fatal("second Done accepted")
	}
	if err := s.Hold(ctx, "zzz", ""); err == nil {
		t.Fatal("Hold of unclaimed job accepted")
	}
	b, _ := s.Next(ctx)
	if b.ID != "b" {
		t.Fatalf("got %q", b.ID)
	}
	short, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	if _, err := s.Next(short); err == nil {
		t.Fatal("Next on empty source returned without blocking")
	}
	kinds := ""
	for _, e := range s.Events() {
		kinds += e.Kind[:1]
	}
	if kinds != "chcdc" {
		t.Fatalf("events %q", kinds)
	}
}
