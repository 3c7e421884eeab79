package api_test

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkRaw9100Formats: native 4×6-sized ZPL formats (about 1 KB)
// through the raw 9100 port into the bbolt queue, each committed (fsync)
// before the next byte of its connection is read (the formats of one
// socket read share a commit). "1conn": b.N formats in one connection, as one
// nc of a big file; "16conns": b.N formats over 16 senders at once, whose
// commits the queue groups. The clock runs from the first byte to the
// last connection closed by the bench (every format durable by then).
func BenchmarkRaw9100Formats(b *testing.B) {
	format := []byte("^XA^CI28^PW812^LL1218" + strings.Repeat("^FO50,200^A0N,30,30^FDline of address text^FS", 20) +
		"^FO50,900^BY3^BCN,150,Y,N,N^FDPB000000001C^FS^XZ\r\n")
	for _, conns := range []int{1, 16} {
		name := map[int]string{1: "1conn", 16: "16conns"}[conns]
		b.Run(name, func(b *testing.B) {
			r := startRaw(b, nil)
			b.SetBytes(int64(len(format)))
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for c := range conns {
				n := b.N / conns
				if c < b.N%conns {
					n++
				}
				wg.Go(func() {
					cn, err := net.Dial("tcp", r.addr)
					if err != nil {
						b.Error(err)
						return
					}
					defer cn.Close()
					for range n {
						if _, err := cn.Write(format); err != nil {
							b.Error(err)
							return
						}
					}
					cn.(*net.TCPConn).CloseWrite()
					io.Copy(io.Discard, cn)
				})
			}
			wg.Wait()
			el := time.Since(start)
			b.StopTimer()
			if got := len(r.jobs()); got != b.N {
				b.Fatalf("%d jobs, want %d", got, b.N)
			}
			b.ReportMetric(float64(b.N)/el.Seconds(), "formats/s")
		})
	}
}
