package station

import (
	"context"
	"fmt"

	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/queue"
)

// PrintCommandSheet queues the command barcodes as one label on printer
// ("" is the flow's printer): each command's name above its Code 128
// barcode, so a bench without a screen has them at hand. Every call is a
// new label.
func (s *Station) PrintCommandSheet(ctx context.Context, printer string, source queue.Source) (queue.Job, error) {
	if printer == "" {
		printer = s.printer
	}
	if err := s.knownPrinter(printer); err != nil {
		return queue.Job{}, fmt.Errorf("station: command sheet: %w: %w", ErrNotFound, err)
	}
	job, err := s.enqueueOnce(ctx, queue.NewJob{Key: "command-sheet:", Source: source,
		Printer: printer, ContentType: queue.ContentZPL, Payload: s.commandSheetZPL(), Ref: "command barcodes"})
	if err != nil {
		return queue.Job{}, fmt.Errorf("station: command sheet: %w", err)
	}
	return job, nil
}

// commandSheetZPL lays the commands out down the label, as many as fit.
func (s *Station) commandSheetZPL() []byte {
	dots := func(mm int) int { return mm * labelrender.DotsPerMM(s.label.DPI) }
	field := func(b []byte, x, y, size int, text string) []byte {
		b = fmt.Appendf(b, "^FO%d,%d^A0N,%d,%d^FH^FD", x, y, size, size)
		return append(labelrender.AppendFieldData(b, text), "^FS\n"...)
	}
	b := []byte("^XA^CI28\n")
	x, y := dots(5), dots(5)
	b = field(b, x, y, dots(5), "PACKBENCH COMMANDS")
	y += dots(10)
	block := dots(27) // caption, bars, the code in text, a gap
	for _, c := range s.Commands() {
		if y+block > s.label.HeightDots {
			break
		}
		b = field(b, x, y, dots(4), c.Label)
		b = fmt.Appendf(b, "^FO%d,%d^BY2^BCN,%d,Y,N,N^FH^FD", x, y+dots(6), dots(12))
		b = append(labelrender.AppendFieldData(b, c.Code), "^FS\n"...)
		y += block
	}
	return append(b, "^XZ\n"...)
}
