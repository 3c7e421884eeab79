package scale_test

import (
	"errors"
	"testing"
	"time"

	"github.com/packbench/packbench/scale"
)

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func mustFilter(t testing.TB, o *scale.FilterOptions) *scale.Filter {
	t.Helper()
	f, err := scale.NewFilter(o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func mustScript(t testing.TB, src string) scale.Script {
	t.Helper()
	sc, err := scale.ParseScript(src)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// feed runs readings through f and returns the events that were not None.
func feed(f *scale.Filter, rs []scale.Reading) []scale.Event {
	var evs []scale.Event
	for _, r := range rs {
		if ev := f.Feed(r); ev.Kind != scale.EventNone {
			evs = append(evs, ev)
		}
	}
	return evs
}

func kinds(evs []scale.Event) []scale.EventKind {
	var k []scale.EventKind
	for _, e := range evs {
		k = append(k, e.Kind)
	}
	return k
}

func eqKinds(a []scale.EventKind, b ...scale.EventKind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFilterBouncingParcelOnePlaced(t *testing.T) {
	f := mustFilter(t, nil)
	rs := mustScript(t, "place 1200g; bounce; settle; bounce; settle; wait 3s").Readings(t0, 50*time.Millisecond)
	evs := feed(f, rs)
	if !eqKinds(kinds(evs), scale.EventPlaced) {
		t.Fatalf("events %v, want exactly one placed", kinds(evs))
	}
	if evs[0].Reading.Milligrams != 1_200_000 || evs[0].Reading.Status != scale.StatusStable {
		t.Errorf("placed %v", evs[0].Reading)
	}
	// Placed only after the settle window: 100 ms landing + 300 ms bounce + 300 ms settle.
	if at := evs[0].Reading.Time.Sub(t0); at < 700*time.Millisecond || at > 750*time.Millisecond {
		t.Errorf("placed at %v", at)
	}
	if f.State() != scale.StatePlaced {
		t.Errorf("state %v", f.State())
	}
}

// Stable readings that wobble within tolerance (motion flag clear, as an
// HX711 or a cheap scale gives) settle too; a wobble beyond restarts.
func TestFilterToleranceWindow(t *testing.T) {
	f := mustFilter(t, nil)
	var rs []scale.Reading
	w := []int64{500_000, 501_500, 499_000, 500_900, 498_100, 500_000, 500_000, 500_000, 500_000}
	for i, mg := range w {
		rs = append(rs, scale.Reading{Milligrams: mg, Status: scale.StatusStable, Time: t0.Add(time.Duration(i) * 100 * time.Millisecond)})
	}
	evs := feed(f, rs)
	if !eqKinds(kinds(evs), scale.EventPlaced) {
		t.Fatalf("events %v", kinds(evs))
	}
	// 498.1 g is 1.9 g from 500 g: inside ±2 g. The window started at 0 ms.
	if at := evs[0].Reading.Time.Sub(t0); at != 300*time.Millisecond {
		t.Errorf("placed at %v, want 300ms", at)
	}
	f = mustFilter(t, nil)
	// 502.1 g is outside ±2 g of 500 g: the window restarts at 300 ms, and
	// again at 400 ms (498.1 g is 4 g from 502.1 g); placed at 700 ms.
	rs[3].Milligrams = 502_100
	evs = feed(f, rs)
	if len(evs) != 1 || evs[0].Reading.Time.Sub(t0) != 700*time.Millisecond {
		t.Errorf("events %v", evs)
	}
	// 0.2 % of 5 kg is 10 g: a 9 g wobble on a heavy parcel is still stable.
	f = mustFilter(t, nil)
	rs = rs[:0]
	for i, mg := range []int64{5_000_000, 5_009_000, 4_991_000, 5_000_000} {
		rs = append(rs, scale.Reading{Milligrams: mg, Status: scale.StatusStable, Time: t0.Add(time.Duration(i) * 100 * time.Millisecond)})
	}
	if evs = feed(f, rs); len(evs) != 1 {
		t.Errorf("heavy parcel: %v", kinds(evs))
	}
}

func TestFilterLiftAndReplace(t *testing.T) {
	f := mustFilter(t, nil)
	// Lifted a little (still 600 g on the scale, in motion) and put back: no second label.
	sc := mustScript(t, "place 1200g; settle; set 600g motion; place 1200g; bounce; settle")
	evs := feed(f, sc.Readings(t0, 50*time.Millisecond))
	if !eqKinds(kinds(evs), scale.EventPlaced) {
		t.Fatalf("events %v, want one placed", kinds(evs))
	}
	// Lifted off, scale passes through zero in motion only: still no re-arm.
	more := mustScript(t, "set 0g motion; place 1200g; settle").Readings(t0.Add(time.Minute), 50*time.Millisecond)
	if evs = feed(f, more); len(evs) != 0 {
		t.Fatalf("re-armed on a moving zero: %v", kinds(evs))
	}
	// Back to a steady zero: Removed, then the same parcel again is a new Placed.
	more = mustScript(t, "remove; place 1200g; bounce; settle").Readings(t0.Add(2*time.Minute), 50*time.Millisecond)
	evs = feed(f, more)
	if !eqKinds(kinds(evs), scale.EventRemoved, scale.EventPlaced) {
		t.Fatalf("events %v, want removed, placed", kinds(evs))
	}
	if evs[0].Reading.Milligrams >= scale.DefaultZeroThreshold {
		t.Errorf("removed at %v", evs[0].Reading)
	}
}

func TestFilterSlowCreepTriggersOnce(t *testing.T) {
	f := mustFilter(t, nil)
	// A foam parcel sinking: +10 g a second for 20 s, never re-armed.
	sc := "place 800g; settle"
	for i := 0; i < 20; i++ {
		sc += "; creep 10g"
	}
	evs := feed(f, mustScript(t, sc).Readings(t0, 50*time.Millisecond))
	if !eqKinds(kinds(evs), scale.EventPlaced) {
		t.Fatalf("events %v, want one placed", kinds(evs))
	}
	// Creep below the minimum from zero (scale drift) never triggers at all.
	f = mustFilter(t, nil)
	evs = feed(f, mustScript(t, "set 0g; creep 5g; creep 5g; creep 5g; wait 2s").Readings(t0, 50*time.Millisecond))
	if len(evs) != 0 {
		t.Fatalf("drift triggered %v", kinds(evs))
	}
}

// A scale that powers off mid-weigh: the readings stop (a gap) and the Link
// publishes fault readings. No Placed with a partial weight, no zero, no
// re-arm; after power-on the scale zeros itself, which is a real removal.
func TestFilterPowerOffMidWeigh(t *testing.T) {
	f := mustFilter(t, nil)
	rs := mustScript(t, "place 1200g; bounce; set 1200g; off").Readings(t0, 50*time.Millisecond)
	// The Link's fault reading when the driver times out.
	fault := scale.Reading{Status: scale.StatusFault, NoValue: true, Time: t0.Add(1500 * time.Millisecond), Err: scale.ErrTimeout}
	rs = append(rs, fault)
	evs := feed(f, rs)
	if len(evs) != 0 {
		t.Fatalf("events %v while the scale died mid-weigh", kinds(evs))
	}
	if f.State() != scale.StateUnknown {
		t.Errorf("state %v, want unknown", f.State())
	}
	if fault.HasWeight() || fault.Milligrams != 0 || !errors.Is(fault.Err, scale.ErrTimeout) {
		t.Errorf("fault reading %+v", fault)
	}
	// The stale stable reading from before the gap must not complete a
	// settle window with one fresh reading after it.
	f = mustFilter(t, nil)
	first := scale.Reading{Milligrams: 900_000, Status: scale.StatusStable, Time: t0}
	after := scale.Reading{Milligrams: 900_000, Status: scale.StatusStable, Time: t0.Add(5 * time.Second)}
	if ev := f.Feed(first); ev.Kind != scale.EventNone {
		t.Fatal(ev)
	}
	if ev := f.Feed(after); ev.Kind != scale.EventNone {
		t.Fatalf("a gap completed the settle window: %v", ev.Kind)
	}
	// After Placed, a power cycle with the parcel still on: fault readings
	// do not re-arm, so the parcel does not print twice.
	f = mustFilter(t, nil)
	rs = mustScript(t, "place 1200g; settle").Readings(t0, 50*time.Millisecond)
	rs = append(rs, scale.Reading{Status: scale.StatusFault, NoValue: true, Time: t0.Add(2 * time.Second)})
	rs = append(rs, mustScript(t, "set 1200g; settle; settle").Readings(t0.Add(3*time.Second), 50*time.Millisecond)...)
	if evs = feed(f, rs); !eqKinds(kinds(evs), scale.EventPlaced) {
		t.Fatalf("events %v, want a single placed across the outage", kinds(evs))
	}
}

func TestFilterThresholds(t *testing.T) {
	f := mustFilter(t, nil)
	// 15 g: above zero, below the 20 g minimum: no label.
	if evs := feed(f, mustScript(t, "set 15g; settle; settle").Readings(t0, 50*time.Millisecond)); len(evs) != 0 {
		t.Errorf("15 g triggered: %v", kinds(evs))
	}
	f = mustFilter(t, &scale.FilterOptions{MinWeight: 5_000, ZeroThreshold: 1_000, Settle: scale.Duration(time.Second)})
	evs := feed(f, mustScript(t, "set 15g; settle").Readings(t0, 50*time.Millisecond))
	if len(evs) != 1 || evs[0].Reading.Time.Sub(t0) != time.Second {
		t.Errorf("custom options: %v", evs)
	}
	if got := mustFilter(t, &scale.FilterOptions{MinWeight: 8_000}).Options(); got.ZeroThreshold != 4_000 {
		t.Errorf("zero threshold for an 8 g minimum: %d, want 4 g", got.ZeroThreshold)
	}
	if got := f.Options(); got.MinWeight != 5_000 || got.ToleranceMg != scale.DefaultToleranceMg {
		t.Errorf("options %+v", got)
	}
	// Over capacity is not a weight and does not trigger or re-arm.
	over := scale.Reading{Status: scale.StatusOver, NoValue: true, Time: t0.Add(time.Hour)}
	if ev := f.Feed(over); ev.Kind != scale.EventNone || f.State() != scale.StatePlaced {
		t.Errorf("over: %v %v", ev.Kind, f.State())
	}
	// Under zero re-arms (the parcel is certainly off).
	under := scale.Reading{Status: scale.StatusUnder, NoValue: true, Time: t0.Add(time.Hour + time.Second)}
	if ev := f.Feed(under); ev.Kind != scale.EventRemoved {
		t.Errorf("under: %v", ev.Kind)
	}
	f.Reset()
	if f.State() != scale.StateEmpty {
		t.Errorf("after reset %v", f.State())
	}
	for _, bad := range []scale.FilterOptions{
		{MinWeight: 10_000, ZeroThreshold: 10_000},
		{MinWeight: -1},
		{TolerancePPM: 1_000_000},
		{Settle: scale.Duration(-time.Second)},
	} {
		if _, err := scale.NewFilter(&bad); !errors.Is(err, scale.ErrConfig) {
			t.Errorf("%+v: err %v, want ErrConfig", bad, err)
		}
	}
}

// A settled weight under the minimum is StateTooLight (for the packer's
// "too light" hint) and still sends no event; a heavier parcel then sends
// exactly one Placed.
func TestFilterTooLightState(t *testing.T) {
	f := mustFilter(t, nil)
	if evs := feed(f, mustScript(t, "set 15g; settle; settle").Readings(t0, 50*time.Millisecond)); len(evs) != 0 {
		t.Fatalf("15 g sent %v", kinds(evs))
	}
	if f.State() != scale.StateTooLight {
		t.Fatalf("state %v after a settled 15 g, want too_light", f.State())
	}
	evs := feed(f, mustScript(t, "place 800g; settle; settle").Readings(t0.Add(2*time.Second), 50*time.Millisecond))
	if !eqKinds(kinds(evs), scale.EventPlaced) || f.State() != scale.StatePlaced {
		t.Fatalf("after 800 g: %v, %v", kinds(evs), f.State())
	}
	f = mustFilter(t, nil)
	feed(f, mustScript(t, "set 15g; settle; set 0g; settle").Readings(t0, 50*time.Millisecond))
	if f.State() != scale.StateEmpty {
		t.Errorf("state %v after emptying, want empty", f.State())
	}
}
