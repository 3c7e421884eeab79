package queue

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var benchPayload = []byte("^XA^CI28^PW812^LL1218^FO50,50^A0N,40,40^FDShip to: A. Person^FS^FO50,110^A0N,30,30^FD1 Example Street, Springfield^FS^FO50,200^BY3^BCN,150,Y,N,N^FD1Z999AA10123456784^FS^FO50,400^GB700,3,3^FS^XZ")

func benchEnqueue(b *testing.B, producers int) {
	d := openT(b, filepath.Join(b.TempDir(), "q.db"), nil)
	ctx := context.Background()
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range producers {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				nj := NewJob{Key: fmt.Sprintf("k%d", i), Source: SourceHTTP, Printer: "p", ContentType: ContentZPL, Payload: benchPayload}
				if _, _, err := d.Enqueue(ctx, nj); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}

// BenchmarkEnqueue measures durable (fsync per commit) enqueue throughput.
func BenchmarkEnqueue(b *testing.B) {
	for _, p := range []int{1, 32} {
		b.Run(fmt.Sprintf("producers=%d", p), func(b *testing.B) { benchEnqueue(b, p) })
	}
}

// BenchmarkClaimPrintAck measures the worker side: Claim, SetState printed,
// and a consumer reading and acknowledging the events in pages of 100;
// "write-ahead" is the printer worker's way since issue 12, ClaimUnsent
// and Transmitting before the (absent) write: one commit more per job.
func BenchmarkClaimPrintAck(b *testing.B) {
	b.Run("claim", func(b *testing.B) { benchClaimPrintAck(b, false) })
	b.Run("write-ahead", func(b *testing.B) { benchClaimPrintAck(b, true) })
}

func benchClaimPrintAck(b *testing.B, writeAhead bool) {
	d := openT(b, filepath.Join(b.TempDir(), "q.db"), &Options{Consumers: []string{"mqtt"}})
	ctx := context.Background()
	if err := fill(d, b.N, 0); err != nil {
		b.Fatal(err)
	}
	claim := d.Claim
	if writeAhead {
		claim = d.ClaimUnsent
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		j, err := claim(ctx, "p")
		if err != nil {
			b.Fatal(err)
		}
		if writeAhead {
			if _, err := d.Transmitting(ctx, j.ID); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := d.SetState(ctx, j.ID, StatePrinted, ""); err != nil {
			b.Fatal(err)
		}
		if i%50 == 49 || i == b.N-1 {
			evs, err := d.Events(ctx, "mqtt", 100)
			if err != nil {
				b.Fatal(err)
			}
			if err := d.Ack(ctx, "mqtt", evs[len(evs)-1].ID); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}

// fill enqueues n jobs in large transactions; every job with index
// i%sendingEvery == 0 (if sendingEvery > 0) is left in sending.
func fill(d *DB, n, sendingEvery int) error {
	for done := 0; done < n; {
		err := d.Update(func(tx *Tx) error {
			for i := 0; i < 5000 && done < n; i++ {
				nj := NewJob{Key: fmt.Sprintf("k%d", done), Source: SourceMQTT, Printer: "p", ContentType: ContentZPL, Payload: benchPayload}
				if _, _, err := tx.Enqueue(nj); err != nil {
					return err
				}
				done++
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if sendingEvery <= 0 {
		return nil
	}
	return d.Update(func(tx *Tx) error {
		for i := 0; i < n; i += sendingEvery {
			if _, err := tx.move(JobID(i+1), StateSending, "", nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// BenchmarkOpen100k measures Open of a file holding 100,000 jobs, 100 of
// them left in sending (recovered to uncertain on each open).
func BenchmarkOpen100k(b *testing.B) {
	dir := b.TempDir()
	pristine := filepath.Join(dir, "pristine.db")
	d, err := Open(pristine, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := fill(d, 100_000, 1000); err != nil {
		b.Fatal(err)
	}
	d.Close()
	fi, _ := os.Stat(pristine)
	path := filepath.Join(dir, "q.db")
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if err := copyFile(path, pristine); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		d, err := Open(path, nil)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(d.Recovered()); n != 100 {
			b.Fatalf("recovered %d jobs, want 100", n)
		}
		d.Close()
	}
	b.ReportMetric(float64(fi.Size()), "file-bytes")
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// BenchmarkMillionJobsRetention passes 1,000,000 jobs through one file
// (enqueue, claim, printed, events acknowledged) at a simulated 20,000 jobs
// a day with 7 days of retention and a daily Housekeep, and reports the
// file size half way and at the end: bounded by retention, not by the total.
func BenchmarkMillionJobsRetention(b *testing.B) {
	const (
		total   = 1_000_000
		perDay  = 20_000
		chunk   = 2_000
		jobStep = 24 * time.Hour / perDay
	)
	for range b.N {
		clk := newClock()
		d := openT(b, filepath.Join(b.TempDir(), "q.db"), &Options{Clock: clk, Retention: 7 * 24 * time.Hour, Consumers: []string{"mqtt"}})
		ctx := context.Background()
		var half, peak int64
		compactions := 0
		for done := 0; done < total; done += chunk {
			err := d.Update(func(tx *Tx) error {
				for i := range chunk {
					nj := NewJob{Key: fmt.Sprintf("k%d", done+i), Source: SourceMQTT, Printer: "p", ContentType: ContentZPL, Payload: benchPayload}
					if _, _, err := tx.Enqueue(nj); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			err = d.Update(func(tx *Tx) error {
				for range chunk {
					j, err := tx.claim("p")
					if err != nil {
						return err
					}
					if _, err := tx.SetState(j.ID, StatePrinted, ""); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			last, _ := d.LastEventID(ctx)
			if err := d.Ack(ctx, "mqtt", last); err != nil {
				b.Fatal(err)
			}
			clk.Advance(chunk * jobStep)
			if (done+chunk)%perDay == 0 {
				r, err := d.Housekeep(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if r.Compacted {
					compactions++
				}
				peak = max(peak, r.FileBytesBefore)
			}
			if done+chunk == total/2 {
				st, _ := d.Stats(ctx)
				half = st.FileBytes
			}
		}
		st, err := d.Stats(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(half), "file-bytes-500k")
		b.ReportMetric(float64(st.FileBytes), "file-bytes")
		b.ReportMetric(float64(peak), "peak-file-bytes")
		b.ReportMetric(float64(st.JobsByState[StatePrinted]), "live-jobs")
		b.ReportMetric(float64(compactions), "compactions")
		d.Close()
	}
}

// BenchmarkEnqueueDuringCompaction measures how long an Enqueue waits
// while a file of 100,000 jobs (about 115 MB) is compacted over and over
// ("compacting"), against the same file left alone ("idle"): ns/op is the
// mean Enqueue, worst-ns the longest, compact-ms the mean compaction.
// Before the online compaction an Enqueue waited for the whole copy.
func BenchmarkEnqueueDuringCompaction(b *testing.B) {
	for _, compact := range []bool{false, true} {
		name := map[bool]string{false: "idle", true: "compacting"}[compact]
		b.Run(name, func(b *testing.B) { benchEnqueueDuringCompaction(b, compact) })
	}
}

func benchEnqueueDuringCompaction(b *testing.B, compact bool) {
	d := openT(b, filepath.Join(b.TempDir(), "q.db"), nil)
	if err := fill(d, 100_000, 0); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	st, _ := d.Stats(ctx)
	stop := make(chan struct{})
	var compactions atomic.Int64
	var compacting time.Duration
	var wg sync.WaitGroup
	if compact {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				t0 := time.Now()
				if err := d.Compact(ctx); err != nil {
					b.Error(err)
					return
				}
				compacting += time.Since(t0)
				compactions.Add(1)
			}
		})
	}
	var worst time.Duration
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		nj := NewJob{Key: fmt.Sprintf("during-%d", i), Source: SourceHTTP, Printer: "q", ContentType: ContentZPL, Payload: benchPayload}
		t0 := time.Now()
		if _, _, err := d.Enqueue(ctx, nj); err != nil {
			b.Fatal(err)
		}
		w := time.Since(t0)
		lat = append(lat, w)
		worst = max(worst, w)
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	slices.Sort(lat)
	b.ReportMetric(float64(worst.Nanoseconds()), "worst-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(st.FileBytes), "file-bytes")
	if n := compactions.Load(); n > 0 {
		b.ReportMetric(float64(n), "compactions")
		b.ReportMetric(float64(compacting.Milliseconds())/float64(n), "compact-ms")
	}
}

// BenchmarkTransmitting is the printer worker's write-ahead mark alone: as
// a bbolt commit (tx.Transmitting, the way before the marks log) and in the
// marks log (DB.Transmitting), each job claimed beforehand.
func BenchmarkTransmitting(b *testing.B) {
	for _, way := range []string{"bbolt-commit", "marks-log"} {
		b.Run(way, func(b *testing.B) {
			d := openT(b, filepath.Join(b.TempDir(), "q.db"), nil)
			ctx := context.Background()
			if err := fill(d, b.N, 0); err != nil {
				b.Fatal(err)
			}
			ids := make([]JobID, 0, b.N)
			if err := d.Update(func(tx *Tx) error {
				for range b.N {
					j, err := tx.ClaimUnsent("p")
					if err != nil {
						return err
					}
					ids = append(ids, j.ID)
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for _, id := range ids {
				t0 := time.Now()
				var err error
				if way == "marks-log" {
					_, err = d.Transmitting(ctx, id)
				} else {
					err = d.Update(func(tx *Tx) error { _, err := tx.Transmitting(id); return err })
				}
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
