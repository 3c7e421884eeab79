package station

import (
	"context"
	"testing"

	"github.com/packbench/packbench/scale"
)

// FuzzFlowOneLabelPerPlacement drives the real filter and the flow with
// arbitrary scale traffic (weights, motion, zeros, faults, gaps) and checks
// the promise of the bench: exactly one label per placement, never one
// without a placement, and each label carries the weight that settled.
func FuzzFlowOneLabelPerPlacement(f *testing.F) {
	f.Add([]byte{10, 10, 10, 10, 10, 10, 0, 0, 0, 0})            // place, settle, lift
	f.Add([]byte{10, 10, 10, 10, 10, 10, 12, 10, 10, 10, 10})    // bounce
	f.Add([]byte{10, 138, 10, 10, 10, 10, 0, 0, 20, 20, 20, 20}) // motion, two parcels
	f.Add([]byte{200, 10, 10, 255, 10, 10, 10, 10, 0, 0})        // fault and gap in between
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 200 {
			ops = ops[:200]
		}
		clk := newClock()
		db := openDB(t, t.TempDir(), clk)
		st := newStation(t, db, clk, Config{})
		o := mustCreate(t, st, Order{Packages: maxPackages})
		if _, err := st.Arm(context.Background(), o.ID); err != nil {
			t.Fatal(err)
		}
		filt, err := scale.NewFilter(nil)
		if err != nil {
			t.Fatal(err)
		}
		var placedMg []int64
		removed := 0
		for _, op := range ops {
			// Low 7 bits: weight in 100 g steps (0 = empty); high bit: motion.
			// 255 is a fault reading; 200 a gap of 2 s.
			var r scale.Reading
			switch op {
			case 255:
				r = scale.Reading{Status: scale.StatusFault, NoValue: true, Time: clk.Advance(100e6)}
			case 200:
				clk.Advance(2e9)
				continue
			default:
				g := int64(op&0x7f) * 100
				status := scale.StatusStable
				if op&0x80 != 0 {
					status = scale.StatusMotion
				} else if g == 0 {
					status = scale.StatusZero
				}
				r = scale.Reading{Milligrams: g * 1000, Unit: scale.UnitGram, Value: g, Status: status, Time: clk.Advance(100e6)}
			}
			ev := filt.Feed(r)
			switch ev.Kind {
			case scale.EventPlaced:
				placedMg = append(placedMg, ev.Reading.Milligrams)
			case scale.EventRemoved:
				removed++
			}
			if ev.Kind != scale.EventNone {
				st.Feed(context.Background(), ev)
			}
		}
		if len(placedMg) > removed+1 {
			t.Fatalf("%d placements with %d removals", len(placedMg), removed)
		}
		js := jobs(t, db)
		if len(js) != len(placedMg) {
			t.Fatalf("%d jobs for %d placements", len(js), len(placedMg))
		}
		sh, err := st.Shipment(context.Background(), o.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range sh.Packages {
			if p.Weight.Milligrams != placedMg[i] || p.JobID != js[i].ID || p.Index != i+1 {
				t.Fatalf("package %d: %+v, placed %d mg", i+1, p, placedMg[i])
			}
		}
	})
}
