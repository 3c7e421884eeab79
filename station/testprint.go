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
	// Drawn twice from one layout, so the test print has its PNG preview
	// (the page, the spool folder) like every other label.
	tl := s.testLabel(printer, about)
	zpl, err := labelrender.RenderTextZPL(tl, &s.label)
	if err != nil {
		return queue.Job{}, fmt.Errorf("station: test print: %w", err)
	}
	png, err := labelrender.RenderTextPNG(tl, &s.label)
	if err != nil {
		return queue.Job{}, fmt.Errorf("station: test print: %w", err)
	}
	key, err := onceKey("test-print:")
	if err != nil {
		return queue.Job{}, fmt.Errorf("station: test print: %w", err)
	}
	job, _, err := s.EnqueueLabel(ctx, queue.NewJob{Key: key, Source: source, Printer: printer, Ref: "test print"},
		JobLabel{ZPL: zpl, PNG: png})
	if err != nil {
		return queue.Job{}, fmt.Errorf("station: test print: %w", err)
	}
	return job, nil
}

// onceKey is prefix with a random suffix: every press is a new label,
// never an earlier job.
func onceKey(prefix string) (string, error) {
	var nonce [8]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", err
	}
	return prefix + hex.EncodeToString(nonce[:]), nil
}

// enqueueOnce queues j with a random key after j.Key (its prefix).
func (s *Station) enqueueOnce(ctx context.Context, j queue.NewJob) (queue.Job, error) {
	key, err := onceKey(j.Key)
	if err != nil {
		return queue.Job{}, err
	}
	j.Key = key
	job, _, err := s.db.Enqueue(ctx, j)
	return job, err
}

// testLabel is the test label: a title, the printer, about, the time and
// a Code 128 barcode to show the head prints bars cleanly. All text goes
// through labelrender's escaping, so no name becomes a command.
func (s *Station) testLabel(printer, about string) labelrender.TextLabel {
	lines := []labelrender.TextLine{{Text: "PACKBENCH TEST PRINT", Size: 64, Bold: true}, {Text: "Printer: " + printer, Size: 40}}
	if about != "" {
		lines = append(lines, labelrender.TextLine{Text: about, Size: 40})
	}
	lines = append(lines, labelrender.TextLine{Text: s.clock.Now().UTC().Format("2006-01-02 15:04:05 UTC"), Size: 40})
	return labelrender.TextLabel{Lines: lines, Barcode: "0123456789"}
}
