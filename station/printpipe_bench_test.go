package station

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/device/devicetest"
	"github.com/packbench/packbench/queue"
)

// BenchmarkPrintPipeline measures the printing half of the bench alone: b.N
// native labels (~2 KB) waiting in a real queue file are taken by one
// printer worker through a JobSource with the daemon's batch (write-ahead
// mark per job, outcomes grouped) and sent to the printer emulator over
// loopback TCP, each confirmed by a ~HS poll per batch. labels/s is b.N
// over the time to the last label's arrival.
func BenchmarkPrintPipeline(b *testing.B) {
	emu := devicetest.NewEmulator(nil)
	b.Cleanup(func() { emu.Close() })
	addr, err := emu.ListenTCP("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	db, err := queue.Open(filepath.Join(b.TempDir(), "packbench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	label := make([]byte, 0, 2048)
	label = append(label, "^XA^FO40,40^A0N,40,40^FDbench^FS"...)
	for len(label) < 1900 {
		label = append(label, "^FO40,100^A0N,28,28^FDShip to line: 1234 Example Street Springfield^FS"...)
	}
	label = append(label, "^XZ"...)
	const perTx = 500
	for i := 0; i < b.N; i += perTx {
		err := db.Update(func(tx *queue.Tx) error {
			for j := i; j < min(i+perTx, b.N); j++ {
				if _, _, err := tx.Enqueue(queue.NewJob{Key: fmt.Sprintf("k%08d", j), Source: queue.SourceFlow, Printer: "z",
					ContentType: queue.ContentZPL, Payload: label}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	p, err := device.Open(device.PrinterConfig{Name: "z", Transport: "tcp", Address: addr})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	src := NewJobSource(db, "z", &JobSourceOptions{Batch: DefaultJobBatch})
	w := device.NewWorker(p, src, &device.WorkerOptions{IdlePoll: -1})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	b.ResetTimer()
	start := time.Now()
	go func() { ran <- w.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer wcancel()
	if err := emu.WaitLabels(wctx, b.N); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	<-ran
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "labels/s")
}
