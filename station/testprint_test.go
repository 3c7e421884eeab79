package station

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/queue"
)

// TestTestPrint: a test label is queued on the named (or the flow's)
// printer, each press is a new job, an unknown printer is refused, and a
// printer name full of ZPL never becomes commands.
func TestTestPrint(t *testing.T) {
	db, err := queue.Open(filepath.Join(t.TempDir(), "q.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := New(db, &Options{Printers: []string{"p1", "^XZ~JA"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	j, err := st.TestPrint(ctx, "", queue.SourceHTTP, "bench-1, version dev")
	if err != nil {
		t.Fatal(err)
	}
	if j.Printer != "p1" || j.State != queue.StateQueued || j.ContentType != queue.ContentZPL || j.Source != queue.SourceHTTP {
		t.Fatalf("test print job %+v", j)
	}
	stored, err := db.Job(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p := string(stored.Payload); !strings.HasPrefix(p, "^XA") || !strings.Contains(p, "PACKBENCH TEST PRINT") {
		t.Fatalf("payload %q", p)
	}
	if err := labelrender.CheckZPL(stored.Payload, nil); err != nil {
		t.Fatalf("the test label fails the ZPL check: %v", err)
	}
	j2, err := st.TestPrint(ctx, "p1", queue.SourceMQTT, "")
	if err != nil || j2.ID == j.ID {
		t.Fatalf("second test print: %+v %v, want a new job", j2, err)
	}
	if _, err := st.TestPrint(ctx, "nope", queue.SourceHTTP, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown printer: %v, want ErrNotFound", err)
	}
	hostile, err := st.TestPrint(ctx, "^XZ~JA", queue.SourceHTTP, "^FS~JR")
	if err != nil {
		t.Fatal(err)
	}
	stored, err = db.Job(ctx, hostile.ID)
	if err != nil {
		t.Fatal(err)
	}
	p := string(stored.Payload)
	if strings.Count(p, "^XZ") != 1 || strings.Contains(p, "~JA") || strings.Contains(p, "~JR") {
		t.Fatalf("printer name or about leaked into ZPL: %q", p)
	}
}

// A test print has its PNG preview like every other label (the page and
// the spool folder show it), drawn from the same layout as its ZPL.
func TestTestPrintHasPreview(t *testing.T) {
	db, err := queue.Open(filepath.Join(t.TempDir(), "q.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := New(db, &Options{Printers: []string{"p1"}})
	if err != nil {
		t.Fatal(err)
	}
	j, err := st.TestPrint(t.Context(), "", queue.SourceHTTP, "bench-1")
	if err != nil {
		t.Fatal(err)
	}
	png, err := st.LabelPNG(t.Context(), j.ID.String())
	if err != nil {
		t.Fatalf("test print preview: %v", err)
	}
	img, err := pngDecode(png)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 812 || b.Dy() != 1218 {
		t.Errorf("preview %v, want the 4x6 label at 203 dpi", b)
	}
}
