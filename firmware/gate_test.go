package firmware_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/packbench/packbench/firmware"
	"github.com/packbench/packbench/firmware/firmwaretest"
	"github.com/packbench/packbench/internal/clocktest"
)

// pendingUpdate returns a store with 1.0.0 committed and 2.0.0 pending.
func pendingUpdate(t *testing.T) *firmware.Store {
	s, _, _, priv := installed(t)
	if _, err := s.Apply(context.Background(), firmwaretest.Release(t, priv, firmware.Manifest{Version: "2.0.0"}, []byte("two"))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BootCheck(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestGateCommitsWhenHealthy(t *testing.T) {
	s := pendingUpdate(t)
	// The wall clock says 1970, as on a Pi before NTP: the window does
	// not care.
	clk := clocktest.NewClock(time.Unix(0, 0))
	var asked atomic.Int32
	healthy := func() error {
		if asked.Add(1) < 3 {
			return errors.New("mqtt not connected")
		}
		return nil
	}
	done := make(chan error, 1)
	go func() {
		done <- s.Gate(context.Background(), "2.0.0", healthy, &firmware.GateOptions{Clock: clk, Window: time.Minute, Poll: time.Second})
	}()
	for range 2 {
		// The window's timer and the poll's.
		if err := clk.WaitWaiters(context.Background(), 2); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st, _ := s.Status()
	if st.Current != "2.0.0" || st.Pending != nil || st.Last.Result != "committed" {
		t.Fatalf("status %+v", st)
	}
}

func TestGateRollsBackAfterWindow(t *testing.T) {
	s := pendingUpdate(t)
	clk := clocktest.NewClock(time.Unix(0, 0))
	done := make(chan error, 1)
	go func() {
		done <- s.Gate(context.Background(), "2.0.0", func() error { return errors.New("devices not probed") },
			&firmware.GateOptions{Clock: clk, Window: 5 * time.Minute, Poll: 10 * time.Minute})
	}()
	if err := clk.WaitWaiters(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Minute)
	if err := <-done; !errors.Is(err, firmware.ErrRolledBack) {
		t.Fatalf("Gate = %v, want ErrRolledBack", err)
	}
	st, _ := s.Status()
	if st.Current != "1.0.0" || st.Pending != nil || st.Last.Result != "rolled_back" || !strings.Contains(st.Last.Reason, "devices not probed") {
		t.Fatalf("status %+v last %+v", st, st.Last)
	}
	boot, err := s.BootCheck()
	if err != nil || boot.Version != "1.0.0" || boot.Pending {
		t.Fatalf("boot %+v, %v", boot, err)
	}
}

func TestGateCancelledLeavesPending(t *testing.T) {
	s := pendingUpdate(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	clk := clocktest.NewClock(time.Unix(0, 0))
	if err := s.Gate(ctx, "2.0.0", func() error { return errors.New("no") }, &firmware.GateOptions{Clock: clk}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Gate = %v", err)
	}
	if st, _ := s.Status(); st.Pending == nil || st.Current != "2.0.0" {
		t.Fatalf("status %+v", st)
	}
}
