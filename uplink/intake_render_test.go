package uplink

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/packbench/packbench/internal/clocktest"
	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// A pushed label is drawn with the station's options and format (its
// LabelOptions and RenderLabel), not a second copy of the rule: a raster
// bench at 300 dpi gets exactly the station's raster.
func TestStationIntakeRendersLikeTheStation(t *testing.T) {
	ctx := context.Background()
	db, err := queue.Open(filepath.Join(t.TempDir(), "q.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := station.New(db, &station.Options{Printers: []string{"zebra"},
		Config: station.Config{Label: station.LabelConfig{Format: station.FormatRaster, DPI: 300, Size: "4x4"}}})
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	in, err := NewStationIntake(st, db, &IntakeOptions{Printers: []string{"zebra"}, Clock: clocktest.NewClock(date)})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := os.ReadFile("../docs/examples/label.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Push(ctx, PushJob{ID: "l1", Type: PushLabel, Label: spec}); err != nil {
		t.Fatal(err)
	}
	j, err := db.JobByKey(ctx, "mqtt:l1")
	if err != nil {
		t.Fatal(err)
	}
	l, err := labelrender.ParseLabel(spec)
	if err != nil {
		t.Fatal(err)
	}
	want, err := st.RenderLabel(l, st.LabelOptions(date))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(j.Payload, want) || !bytes.Contains(want, []byte(":Z64:")) {
		t.Errorf("pushed label (%d bytes) is not the station's 300 dpi raster (%d bytes)", len(j.Payload), len(want))
	}
}
