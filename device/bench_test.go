package device_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/device/devicetest"
)

// nativeLabel is a ~2 KB native ZPL shipping label (printer fonts, Code 128
// and a MaxiCode-sized block of text fields), as labelrender produces.
func nativeLabel(id string) []byte {
	var b strings.Builder
	b.WriteString("^XA^CI28^PW812^LL1218^LH0,0\n")
	fmt.Fprintf(&b, "^FO40,40^A0N,40,40^FH^FD%s^FS\n", id)
	for i := 0; b.Len() < 1900; i++ {
		fmt.Fprintf(&b, "^FO40,%d^A0N,28,28^FH^FDShip to line %02d: 1234 Example Street_2C Springfield^FS\n", 100+i*32, i)
	}
	b.WriteString("^FO60,900^BY3^BCN,160,Y,N,N^FD>;1Z999AA10123456784^FS\n^PQ1^XZ")
	return []byte(b.String())
}

// crc16XModem is the CRC a Z64 field carries (FACTS: poly 0x1021, init 0).
func crc16XModem(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc ^= uint16(c) << 8
		for i := 0; i < 8; i++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// z64Label is a ~12 KB label whose body is one ^GFA :Z64: graphic, the size
// of a carrier's PNG label converted for the printer.
func z64Label(id string) []byte {
	const rowBytes, rows = 100, 90
	raw := make([]byte, rowBytes*rows)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw)
	zw.Close()
	b64 := base64.StdEncoding.EncodeToString(z.Bytes())
	return fmt.Appendf(nil, "^XA^PW812^LL1218^FO40,40^A0N,30,30^FD%s^FS^FO0,100^GFA,%d,%d,%d,:Z64:%s:%04X^FS^XZ",
		id, len(raw), len(raw), rowBytes, b64, crc16XModem([]byte(b64)))
}

func BenchmarkWorkerToEmulator(b *testing.B) {
	for _, tc := range []struct {
		name string
		make func(string) []byte
	}{{"native2KB", nativeLabel}, {"z64_12KB", z64Label}} {
		b.Run(tc.name, func(b *testing.B) {
			benchWorker(b, tc.make)
		})
	}
}

func benchWorker(b *testing.B, mk func(string) []byte) {
	var mu sync.Mutex
	var received []time.Time
	emu := devicetest.NewEmulator(&devicetest.Options{OnLabel: func(int, []byte) {
		now := time.Now()
		mu.Lock()
		received = append(received, now)
		mu.Unlock()
	}})
	defer emu.Close()
	addr, err := emu.ListenTCP("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	p, err := device.Open(device.PrinterConfig{Name: "bench", Transport: "tcp", Address: addr})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	src := devicetest.NewSource()
	w := device.NewWorker(p, src, &device.WorkerOptions{PollInterval: 100 * time.Microsecond, IdlePoll: -1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() { cancel(); <-done }()

	sample := mk("job-000000")
	b.SetBytes(int64(len(sample)))
	jobs := make([]device.Job, b.N)
	for i := range jobs {
		id := fmt.Sprintf("job-%06d", i)
		jobs[i] = device.Job{ID: id, Data: mk(id)}
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer wcancel()
	b.ResetTimer()
	for i := range jobs {
		src.Add(jobs[i])
		if err := src.WaitDone(wctx, i+1); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()

	var claims []time.Time
	for _, e := range src.Events() {
		switch e.Kind {
		case "claim":
			claims = append(claims, e.At)
		case "done":
			if e.Result.Outcome != device.Printed {
				b.Fatalf("job %s: %s %s", e.ID, e.Result.Outcome, e.Result.Reason)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(claims) != b.N || len(received) != b.N {
		b.Fatalf("%d claims, %d labels received, want %d", len(claims), len(received), b.N)
	}
	lat := make([]time.Duration, b.N)
	for i := range lat {
		lat[i] = received[i].Sub(claims[i])
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds()), "p99-us")
	b.ReportMetric(float64(len(sample)), "label-bytes")
}
