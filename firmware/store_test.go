package firmware_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"aead.dev/minisign"

	"github.com/packbench/packbench/firmware"
	"github.com/packbench/packbench/firmware/firmwaretest"
	"github.com/packbench/packbench/queue"
)

var bigDisk = func(string) (queue.Space, error) { return queue.Space{Free: 1 << 40, Total: 2 << 40}, nil }

type events struct{ got []firmware.Event }

func (e *events) add(ev firmware.Event) { e.got = append(e.got, ev) }

func (e *events) types() []string {
	var out []string
	for _, ev := range e.got {
		out = append(out, ev.Type)
	}
	return out
}

func newStore(t *testing.T, dir string, pub minisign.PublicKey, ev *events) *firmware.Store {
	t.Helper()
	o := &firmware.Options{Key: &pub, Running: "0.9.0", Space: bigDisk}
	if ev != nil {
		o.Events = ev.add
	}
	return firmware.Open(dir, o)
}

// installed returns a store with 1.0.0 (min_version 1.0.0) committed.
func installed(t *testing.T) (*firmware.Store, string, minisign.PublicKey, minisign.PrivateKey) {
	t.Helper()
	pub, priv := firmwaretest.Key(t)
	dir := filepath.Join(t.TempDir(), "firmware")
	s := newStore(t, dir, pub, nil)
	b := firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.0.0", MinVersion: "1.0.0"}, []byte("binary one"))
	if _, err := s.Apply(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	boot, err := s.BootCheck()
	if err != nil || boot.Version != "1.0.0" || !boot.Pending {
		t.Fatalf("boot = %+v, %v", boot, err)
	}
	if ok, err := s.MarkGood("1.0.0"); !ok || err != nil {
		t.Fatalf("MarkGood = %v, %v", ok, err)
	}
	return s, dir, pub, priv
}

func TestRefusalsChangeNothing(t *testing.T) {
	good := []byte("binary two, the good one")
	other := firmware.RunningTarget()
	other.Arch = map[bool]string{true: "amd64", false: "arm64"}[other.Arch != "amd64"]
	cases := []struct {
		name string
		make func(t *testing.T, priv minisign.PrivateKey) firmware.Bundle
		want error
	}{
		{"tampered binary", func(t *testing.T, priv minisign.PrivateKey) firmware.Bundle {
			b := firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.1.0"}, good)
			bad := bytes.Clone(good)
			bad[3] ^= 1
			b.Binary = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(bad)), nil }
			return b
		}, firmware.ErrDigest},
		{"tampered binary with a matching manifest", func(t *testing.T, priv minisign.PrivateKey) firmware.Bundle {
			// The manifest is re-signed for the tampered binary, but the
			// binary's own signature is the original's.
			b := firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.1.0"}, good)
			bad := bytes.Clone(good)
			bad[3] ^= 1
			b2 := firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.1.0"}, bad)
			b2.BinarySig = b.BinarySig
			return b2
		}, firmware.ErrSignature},
		{"tampered manifest", func(t *testing.T, priv minisign.PrivateKey) firmware.Bundle {
			b := firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.1.0"}, good)
			b.Manifest = bytes.Replace(b.Manifest, []byte("1.1.0"), []byte("1.2.0"), 1)
			return b
		}, firmware.ErrSignature},
		{"wrong key", func(t *testing.T, _ minisign.PrivateKey) firmware.Bundle {
			_, other := firmwaretest.Key(t)
			return firmwaretest.Release(t, other, firmware.Manifest{Version: "1.1.0"}, good)
		}, firmware.ErrSignature},
		{"truncated binary", func(t *testing.T, priv minisign.PrivateKey) firmware.Bundle {
			b := firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.1.0"}, good)
			b.Binary = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(good[:10])), nil }
			return b
		}, firmware.ErrDigest},
		{"longer binary", func(t *testing.T, priv minisign.PrivateKey) firmware.Bundle {
			b := firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.1.0"}, good)
			b.Binary = func() (io.ReadCloser, error) {
				return io.NopCloser(bytes.NewReader(append(bytes.Clone(good), 'x'))), nil
			}
			return b
		}, firmware.ErrDigest},
		{"below the installed min_version", func(t *testing.T, priv minisign.PrivateKey) firmware.Bundle {
			return firmwaretest.Release(t, priv, firmware.Manifest{Version: "0.9.5"}, good)
		}, firmware.ErrBelowMin},
		{"below its own min_version", func(t *testing.T, priv minisign.PrivateKey) firmware.Bundle {
			return firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.1.0", MinVersion: "1.2.0"}, good)
		}, firmware.ErrBelowMin},
		{"another architecture", func(t *testing.T, priv minisign.PrivateKey) firmware.Bundle {
			return firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.1.0", Target: other}, good)
		}, firmware.ErrTarget},
		{"the running version", func(t *testing.T, priv minisign.PrivateKey) firmware.Bundle {
			return firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.0.0"}, good)
		}, firmware.ErrSameVersion},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, dir, _, priv := installed(t)
			b := c.make(t, priv)
			before := firmwaretest.Snapshot(t, dir)
			_, err := s.Apply(context.Background(), b)
			if !errors.Is(err, c.want) {
				t.Fatalf("Apply = %v, want %v", err, c.want)
			}
			if after := firmwaretest.Snapshot(t, dir); !maps.Equal(before, after) {
				t.Fatalf("disk changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

func TestArmLevel(t *testing.T) {
	pub, priv := firmwaretest.Key(t)
	dir := filepath.Join(t.TempDir(), "firmware")
	s := firmware.Open(dir, &firmware.Options{Key: &pub, Space: bigDisk, Target: firmware.Target{OS: "linux", Arch: "arm", ARM: "6"}})
	b := firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.0.0", Target: firmware.Target{OS: "linux", Arch: "arm", ARM: "7"}}, []byte("v7"))
	if _, err := s.Apply(context.Background(), b); !errors.Is(err, firmware.ErrTarget) {
		t.Fatalf("ARMv7 binary on an ARMv6 bench: %v, want ErrTarget", err)
	}
	b = firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.0.0", Target: firmware.Target{OS: "linux", Arch: "arm", ARM: "6"}}, []byte("v6"))
	if _, err := s.Apply(context.Background(), b); err != nil {
		t.Fatalf("ARMv6 binary on an ARMv6 bench: %v", err)
	}
}

func TestNoSpaceChangesNothing(t *testing.T) {
	pub, priv := firmwaretest.Key(t)
	dir := filepath.Join(t.TempDir(), "firmware")
	bin := []byte("a binary")
	// Room for the binary but not for the reserve as well.
	small := func(string) (queue.Space, error) { return queue.Space{Free: 1000, Total: 10000}, nil }
	s := firmware.Open(dir, &firmware.Options{Key: &pub, Space: small, Reserve: queue.Floor{Bytes: 995}})
	_, err := s.Apply(context.Background(), firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.0.0"}, bin))
	if !errors.Is(err, firmware.ErrNoSpace) {
		t.Fatalf("Apply = %v, want ErrNoSpace", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("store directory created: %v", err)
	}
}

func TestApplyCommitAndPrune(t *testing.T) {
	s, dir, pub, priv := installed(t)
	ev := &events{}
	s = newStore(t, dir, pub, ev)
	for _, v := range []string{"1.1.0", "1.2.0"} {
		if _, err := s.Apply(context.Background(), firmwaretest.Release(t, priv, firmware.Manifest{Version: v}, []byte("binary "+v))); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Apply(context.Background(), firmwaretest.Release(t, priv, firmware.Manifest{Version: "9.9.9"}, []byte("x"))); !errors.Is(err, firmware.ErrPending) {
			t.Fatalf("second Apply while pending = %v, want ErrPending", err)
		}
		boot, err := s.BootCheck()
		if err != nil || boot.Version != v || !boot.Pending || boot.Starts != 1 {
			t.Fatalf("boot = %+v, %v", boot, err)
		}
		if b, _ := os.ReadFile(boot.Binary); string(b) != "binary "+v {
			t.Fatalf("current binary = %q", b)
		}
		if ok, err := s.MarkGood(v); !ok || err != nil {
			t.Fatalf("MarkGood = %v, %v", ok, err)
		}
	}
	st, err := s.Status()
	if err != nil || st.Current != "1.2.0" || st.Previous != "1.1.0" || st.Pending != nil || st.Last.Result != "committed" || st.Floor != "1.0.0" {
		t.Fatalf("status = %+v, %v", st, err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "versions"))
	if len(entries) != 2 {
		t.Fatalf("versions kept: %v, want current and previous only", entries)
	}
	want := "verified staged switched refused committed verified staged switched refused committed"
	if got := strings.Join(ev.types(), " "); !strings.Contains(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
}

func TestCrashLoopCountedByBootCheck(t *testing.T) {
	s, dir, pub, priv := installed(t)
	ev := &events{}
	s = newStore(t, dir, pub, ev)
	if _, err := s.Apply(context.Background(), firmwaretest.Release(t, priv, firmware.Manifest{Version: "2.0.0"}, []byte("crashes"))); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= firmware.DefaultMaxStarts; i++ {
		boot, err := s.BootCheck()
		if err != nil || boot.Version != "2.0.0" || boot.Starts != i {
			t.Fatalf("start %d: %+v, %v", i, boot, err)
		}
	}
	boot, err := s.BootCheck()
	if err != nil || boot.Version != "1.0.0" || boot.Pending {
		t.Fatalf("after %d starts: %+v, %v", firmware.DefaultMaxStarts, boot, err)
	}
	st, _ := s.Status()
	if st.Last == nil || st.Last.Result != "rolled_back" || st.Last.Version != "2.0.0" || !strings.Contains(st.Last.Reason, "without reporting healthy") {
		t.Fatalf("last = %+v", st.Last)
	}
	if got := ev.types(); got[len(got)-1] != "rolled_back" {
		t.Fatalf("events %v", got)
	}
	// A late health report of the abandoned version commits nothing.
	if ok, _ := s.MarkGood("2.0.0"); ok {
		t.Fatal("MarkGood committed a rolled back version")
	}
}

func TestFirstUpdateRollsBackToPackaged(t *testing.T) {
	pub, priv := firmwaretest.Key(t)
	dir := filepath.Join(t.TempDir(), "firmware")
	s := newStore(t, dir, pub, nil)
	if _, err := s.Apply(context.Background(), firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.0.0"}, []byte("bad"))); err != nil {
		t.Fatal(err)
	}
	if err := s.Rollback("test"); err != nil {
		t.Fatal(err)
	}
	boot, err := s.BootCheck()
	if err != nil || boot.Binary != "" || boot.Version != "" {
		t.Fatalf("boot = %+v, %v; want the packaged binary", boot, err)
	}
}

func TestDamagedCurrentFallsBack(t *testing.T) {
	s, dir, _, priv := installed(t)
	if _, err := s.Apply(context.Background(), firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.1.0"}, []byte("binary 1.1.0"))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MarkGood("1.1.0"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "versions", "1.1.0", "packbenchd"), []byte("binary 1.1.X"), 0o755); err != nil {
		t.Fatal(err)
	}
	boot, err := s.BootCheck()
	if err != nil || boot.Version != "1.0.0" {
		t.Fatalf("boot = %+v, %v; want 1.0.0", boot, err)
	}
}

// TestRefusalsOnAFreshBench: on a bench that never installed anything,
// a refused update does not even create the store's directory.
func TestRefusalsOnAFreshBench(t *testing.T) {
	good := []byte("the first update")
	pub, priv := firmwaretest.Key(t)
	_, other := firmwaretest.Key(t)
	foreign := firmware.Target{OS: "plan9", Arch: "386"}
	for name, b := range map[string]firmware.Bundle{
		"wrong key":             firmwaretest.Release(t, other, firmware.Manifest{Version: "1.0.0"}, good),
		"another platform":      firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.0.0", Target: foreign}, good),
		"below its min_version": firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.0.0", MinVersion: "1.0.1"}, good),
		"truncated binary": func() firmware.Bundle {
			b := firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.0.0"}, good)
			b.Binary = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(good[:5])), nil }
			return b
		}(),
	} {
		dir := filepath.Join(t.TempDir(), "firmware")
		if _, err := newStore(t, dir, pub, nil).Apply(context.Background(), b); err == nil {
			t.Fatalf("%s: applied", name)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("%s: the store directory was created: %v", name, err)
		}
	}
}
