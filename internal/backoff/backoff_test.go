package backoff

import (
	"math"
	"testing"
	"time"
)

const ms = time.Millisecond

func fixed(v float64) func() float64 { return func() float64 { return v } }

func TestNext(t *testing.T) {
	tests := []struct {
		name     string
		min, max time.Duration
		jitter   float64
		want     []time.Duration
	}{
		{"floor: jitter 0 gives half the step", 100 * ms, time.Second, 0,
			[]time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms, 500 * ms, 500 * ms}},
		{"top: jitter near 1 gives the whole step", 100 * ms, time.Second, math.Nextafter(1, 0),
			[]time.Duration{100*ms - 1, 200*ms - 1, 400*ms - 1, 800*ms - 1, time.Second - 1, time.Second - 1}},
		{"middle", 100 * ms, 400 * ms, 0.5, []time.Duration{75 * ms, 150 * ms, 300 * ms, 300 * ms}},
		{"max not a power of two of min is reached exactly", 100 * ms, 250 * ms, 0,
			[]time.Duration{50 * ms, 100 * ms, 125 * ms, 125 * ms}},
		{"max below min: min wins", time.Second, 10 * ms, 0, []time.Duration{500 * ms, 500 * ms}},
		{"zero min waits nothing", 0, time.Second, 0.7, []time.Duration{0, 0}},
		{"huge max does not overflow", 1 << 60, math.MaxInt64, 0,
			[]time.Duration{1 << 59, 1 << 60, 1 << 61, math.MaxInt64 / 2, math.MaxInt64 / 2}},
		{"out-of-range jitter source is clamped", 100 * ms, time.Second, 1.5, []time.Duration{50 * ms, 100 * ms}},
		{"negative jitter source is clamped", 100 * ms, time.Second, -1, []time.Duration{50 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Backoff{Min: tt.min, Max: tt.max, Jitter: fixed(tt.jitter)}
			for i, want := range tt.want {
				if got := b.Next(); got != want {
					t.Fatalf("wait %d = %v, want %v", i, got, want)
				}
			}
		})
	}
}

func TestResetStartsAgainFromMin(t *testing.T) {
	b := Backoff{Min: 100 * ms, Max: time.Second, Jitter: fixed(0)}
	for range 5 {
		b.Next()
	}
	if s := b.Step(); s != time.Second {
		t.Fatalf("step before reset %v", s)
	}
	b.Reset()
	if got := b.Next(); got != 50*ms {
		t.Fatalf("after reset %v, want 50ms", got)
	}
}

// With the real random source every wait stays in [step/2, step).
func TestRandomJitterStaysInRange(t *testing.T) {
	b := New(100*ms, time.Second)
	steps := []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second}
	for round := range 200 {
		b.Reset()
		for i, step := range steps {
			if got := b.Next(); got < step/2 || got >= step {
				t.Fatalf("round %d wait %d = %v, want in [%v, %v)", round, i, got, step/2, step)
			}
		}
	}
}
