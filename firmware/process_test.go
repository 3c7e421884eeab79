package firmware_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/packbench/packbench/firmware"
	"github.com/packbench/packbench/firmware/firmwaretest"
)

var standins struct {
	sync.Mutex
	dir   string
	built map[string]string
}

func TestMain(m *testing.M) {
	if h := os.Getenv("FW_HELPER"); h != "" {
		os.Exit(helperMain(h))
	}
	dir, err := os.MkdirTemp("", "standin")
	if err != nil {
		panic(err)
	}
	standins.dir, standins.built = dir, map[string]string{}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// standin builds a stand-in packbenchd of version that behaves as mode.
func standin(t *testing.T, version, mode string) []byte {
	t.Helper()
	standins.Lock()
	defer standins.Unlock()
	key := version + "-" + mode
	p, ok := standins.built[key]
	if !ok {
		p = filepath.Join(standins.dir, key)
		cmd := exec.Command("go", "build", "-o", p, "-ldflags", "-X main.version="+version+" -X main.mode="+mode, "./internal/standin")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build standin: %v\n%s", err, out)
		}
		standins.built[key] = p
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// run is one start of the bench as packbenchd's start path does it: the
// boot check, then the current binary (or the packaged one). A binary
// that prints "up" and then hangs is killed, as the systemd watchdog does.
func run(t *testing.T, dir, packaged string) (version string, err error) {
	t.Helper()
	boot, err := firmware.Open(dir, &firmware.Options{Space: bigDisk}).BootCheck()
	if err != nil {
		t.Fatal(err)
	}
	bin := boot.Binary
	if bin == "" {
		bin = packaged
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PACKBENCH_FW_DIR="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "version "); ok {
			version = v
		}
		if line == "up" {
			cmd.Process.Kill() // the watchdog
		}
	}
	return version, cmd.Wait()
}

func packaged(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "packbenchd")
	if err := os.WriteFile(p, standin(t, "0.9.0", "good"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGoodUpdateRunsNewVersion(t *testing.T) {
	pub, priv := firmwaretest.Key(t)
	dir := filepath.Join(t.TempDir(), "firmware")
	pkg := packaged(t)
	if v, err := run(t, dir, pkg); v != "0.9.0" || err != nil {
		t.Fatalf("before: %s, %v", v, err)
	}
	s := newStore(t, dir, pub, nil)
	for _, v := range []string{"1.0.0", "1.1.0"} {
		b := firmwaretest.Release(t, priv, firmware.Manifest{Version: v}, standin(t, v, "good"))
		if _, err := s.Apply(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		if got, err := run(t, dir, pkg); got != v || err != nil {
			t.Fatalf("after the update to %s: %s, %v", v, got, err)
		}
		st, err := s.Status()
		if err != nil || st.Current != v || st.Pending != nil || st.Last.Result != "committed" {
			t.Fatalf("status %+v, %v", st, err)
		}
		// It stays: a second start runs it again.
		if got, err := run(t, dir, pkg); got != v || err != nil {
			t.Fatalf("second start: %s, %v", got, err)
		}
	}
}

func TestNeverHealthyRollsBack(t *testing.T) {
	for _, mode := range []string{"exit", "hang", "unhealthy"} {
		t.Run(mode, func(t *testing.T) {
			pub, priv := firmwaretest.Key(t)
			dir := filepath.Join(t.TempDir(), "firmware")
			pkg := packaged(t)
			ev := &events{}
			s := newStore(t, dir, pub, ev)
			if _, err := s.Apply(context.Background(), firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.0.0"}, standin(t, "1.0.0", "good"))); err != nil {
				t.Fatal(err)
			}
			if v, err := run(t, dir, pkg); v != "1.0.0" || err != nil {
				t.Fatalf("1.0.0: %s, %v", v, err)
			}
			if _, err := s.Apply(context.Background(), firmwaretest.Release(t, priv, firmware.Manifest{Version: "2.0.0"}, standin(t, "2.0.0", mode))); err != nil {
				t.Fatal(err)
			}
			starts := 0
			for {
				v, err := run(t, dir, pkg)
				if v == "1.0.0" && err == nil {
					break
				}
				if v != "2.0.0" || err == nil {
					t.Fatalf("start %d: %q, %v", starts+1, v, err)
				}
				starts++
				if starts > firmware.DefaultMaxStarts {
					t.Fatalf("still running 2.0.0 after %d starts", starts)
				}
			}
			st, _ := s.Status()
			if st.Current != "1.0.0" || st.Pending != nil || st.Last == nil || st.Last.Result != "rolled_back" || st.Last.Version != "2.0.0" {
				t.Fatalf("status %+v last %+v", st, st.Last)
			}
			t.Logf("rolled back after %d starts: %s", starts, st.Last.Reason)
		})
	}
}

// helperMain is the updater process killed at a named step.
func helperMain(what string) int {
	pub, err := firmware.LoadPublicKey(os.Getenv("FW_KEY"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	killAt := os.Getenv("FW_KILL_AT")
	s := firmware.Open(os.Getenv("FW_DIR"), &firmware.Options{Key: &pub, Space: bigDisk, Step: func(name string) {
		if name == killAt {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}})
	switch what {
	case "apply":
		b, err := firmware.FileBundle(os.Getenv("FW_RELEASE"))
		if err == nil {
			_, err = s.Apply(context.Background(), b)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	case "rollback":
		if err := s.Rollback("test"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

func TestSIGKILLAtEachStep(t *testing.T) {
	steps := []struct {
		helper, step, want string
		pending            bool
	}{
		{"apply", "verified", "1.0.0", false},
		{"apply", "staged", "1.0.0", false},
		{"apply", "installed", "1.0.0", false},
		{"apply", "previous", "1.0.0", false},
		{"apply", "pending", "1.0.0", false},
		{"apply", "switched", "2.0.0", true},
		{"rollback", "rollback-marked", "1.0.0", false},
		{"rollback", "rollback-switched", "1.0.0", false},
	}
	for _, c := range steps {
		t.Run(c.step, func(t *testing.T) {
			s, dir, pub, priv := installed(t)
			tmp := t.TempDir()
			pubText, _ := pub.MarshalText()
			keyPath := filepath.Join(tmp, "key.pub")
			os.WriteFile(keyPath, pubText, 0o644)
			release := firmwaretest.WriteRelease(t, tmp, firmwaretest.Release(t, priv, firmware.Manifest{Version: "2.0.0"}, []byte("binary two")))
			if c.helper == "rollback" {
				if _, err := s.Apply(context.Background(), firmwaretest.Release(t, priv, firmware.Manifest{Version: "2.0.0"}, []byte("binary two"))); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), "FW_HELPER="+c.helper, "FW_KILL_AT="+c.step, "FW_DIR="+dir, "FW_KEY="+keyPath, "FW_RELEASE="+release)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("helper was not killed at %s: %v\n%s", c.step, err, out)
			}
			boot, err := s.BootCheck()
			if err != nil {
				t.Fatal(err)
			}
			if boot.Version != c.want || boot.Pending != c.pending {
				t.Fatalf("boot = %+v, want %s pending=%v", boot, c.want, c.pending)
			}
			bin, err := os.ReadFile(boot.Binary)
			want := map[string]string{"1.0.0": "binary one", "2.0.0": "binary two"}[c.want]
			if err != nil || string(bin) != want {
				t.Fatalf("binary %q, %v; want %q", bin, err, want)
			}
			if c.helper == "rollback" {
				if st, _ := s.Status(); st.Last == nil || st.Last.Result != "rolled_back" {
					t.Fatalf("last %+v", st.Last)
				}
			}
			if !c.pending {
				// Nothing left behind blocks the next update.
				if _, err := s.Apply(context.Background(), firmwaretest.Release(t, priv, firmware.Manifest{Version: "2.0.1"}, []byte("binary 2.0.1"))); err != nil {
					t.Fatalf("next Apply: %v", err)
				}
			}
		})
	}
}
