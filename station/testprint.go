package station

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/queue"
)

// TestPrint queues a small test label on printer ("" is the flow's
// printer): it proves the link, the media and the head without an order.
// The job goes through the queue like any other, so a printer that is out
// of paper holds it and prints it when the paper is back. about (the
// bench's name, its version) is printed under the printer's name; all text
// goes through labelrender's escaping, so no name becomes a command.
func (s *Station) TestPrint(ctx context.Context, printer string, source queue.Source, about string) (queue.Job, error) {
	if printer == "" {
		printer = s.printer
	}
	if err := s.knownPrinter(printer); err != nil {
		// Not found as well as invalid: the printer is the thing asked for.
		return queue.Job{}, fmt.Errorf("station: test print: %w: %w", ErrNotFound, err)
	}
	job, err := s.enqueueOnce(ctx, queue.NewJob{Key: "test-print:", Source: source,
		Printer: printer, ContentType: queue.ContentZPL, Payload: s.testLabel(printer, about), Ref: "test print"})
	if err != nil {
		return queue.Job{}, fmt.Errorf("station: test print: %w", err)
	}
	return job, nil
}

// enqueueOnce queues j with a random key after j.Key (its prefix): every
// press is a new label, never an earlier job.
func (s *Station) enqueueOnce(ctx context.Context, j queue.NewJob) (queue.Job, error) {
	var nonce [8]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return queue.Job{}, err
	}
	j.Key += hex.EncodeToString(nonce[:])
	job, _, err := s.db.Enqueue(ctx, j)
	return job, err
}

// testLabel is the test label's ZPL: a title, the printer, about, the time
// and a Code 128 barcode to show the head prints bars cleanly.
func (s *Station) testLabel(printer, about string) []byte {
	field := func(b []byte, x, y, size int, text string) []byte {
		b = fmt.Appendf(b, "^FO%d,%d^A0N,%d,%d^FH^FD", x, y, size, size)
		return append(labelrender.AppendFieldData(b, text), "^FS\n"...)
	}
	b := []byte("^XA^CI28\n")
	b = field(b, 40, 60, 64, "PACKBENCH TEST PRINT")
	b = field(b, 40, 160, 40, "Printer: "+printer)
	if about != "" {
		b = field(b, 40, 220, 40, about)
	}
	b = field(b, 40, 280, 40, s.clock.Now().UTC().Format("2006-01-02 15:04:05 UTC"))
	b = append(b, "^FO40,350^GB720,4,4^FS\n^FO40,390^BY3^BCN,120,Y,N,N^FD0123456789^FS\n^XZ\n"...)
	return b
}
