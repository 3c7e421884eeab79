package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The mDNS tests run the real binaries in two network namespaces joined by
// a veth pair: multicast does not run on loopback, and the namespaces keep
// the announcements off the machine's own network. They need root (ip
// netns), which CI has; avahi-daemon, avahi-utils and dbus-daemon are the
// independent client (scripts/test installs them).

var nsSeq atomic.Int32

// requireNetns fails (not skips) without root or the tools: CI runs as
// root with scripts/test's packages, so a missing piece is a broken setup.
func requireNetns(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the mDNS namespace tests need root (ip netns); CI runs as root")
	}
	t.Setenv("PATH", os.Getenv("PATH")+":/usr/sbin:/sbin")
	for _, tool := range append([]string{"ip"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: run scripts/test (it installs iproute2, avahi-daemon, avahi-utils, dbus)", tool)
		}
	}
}

// vethPair makes two namespaces joined by a veth pair, 10.77.0.1 (a) and
// 10.77.0.2 (b) on /24, removed at cleanup. It returns the namespace and
// interface names.
func vethPair(t *testing.T) (nsA, ifA, nsB, ifB string) {
	t.Helper()
	id := fmt.Sprintf("%d%d", os.Getpid()%100000, nsSeq.Add(1))
	nsA, nsB, ifA, ifB = "pbA"+id, "pbB"+id, "pa"+id, "pb"+id
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", nsA)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", nsA).Run() })
	run("netns", "add", nsB)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", nsB).Run() })
	run("link", "add", ifA, "netns", nsA, "type", "veth", "peer", "name", ifB, "netns", nsB)
	run("-n", nsA, "addr", "add", "10.77.0.1/24", "dev", ifA)
	run("-n", nsB, "addr", "add", "10.77.0.2/24", "dev", ifB)
	for _, l := range [][2]string{{nsA, ifA}, {nsB, ifB}, {nsA, "lo"}, {nsB, "lo"}} {
		run("-n", l[0], "link", "set", l[1], "up")
	}
	return nsA, ifA, nsB, ifB
}

// proc is a process whose stdout and stderr lines the test waits on.
type proc struct {
	cmd   *exec.Cmd
	lines chan string
	mu    sync.Mutex
	all   []string
}

// startIn runs bin in namespace ns (ns "" runs it here) with exactly env
// (plus PATH); it is stopped with SIGTERM at cleanup.
func startIn(t *testing.T, ns string, env []string, bin string, args ...string) *proc {
	t.Helper()
	argv := append([]string{bin}, args...)
	if ns != "" {
		argv = append([]string{"ip", "netns", "exec", ns}, argv...)
	}
	p := &proc{cmd: exec.Command(argv[0], argv[1:]...), lines: make(chan string, 1000)}
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			p.mu.Lock()
			p.all = append(p.all, sc.Text())
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		close(p.lines)
	}()
	t.Cleanup(func() { p.stop() })
	return p
}

func (p *proc) stop() error {
	if p.cmd.ProcessState != nil {
		return nil
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	return p.cmd.Wait()
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.all, "\n")
}

// waitLine waits for a line matching re and returns its submatches.
func (p *proc) waitLine(t *testing.T, re *regexp.Regexp, within time.Duration) []string {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("process ended before a line matching %s:\n%s", re, p.output())
			}
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-deadline:
			t.Fatalf("no line matching %s within %v:\n%s", re, within, p.output())
		}
	}
}

// benchTOML is a bench announcing on one interface of its namespace.
func benchTOML(t *testing.T, name, id, host, iface, extra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bench.toml")
	conf := fmt.Sprintf(`[bench]
name = %q
device_id = %q

[[printer]]
name = "spool"
transport = "spool"

[scale]
driver = "sim"

[mdns]
enabled = true
host = %q
interfaces = [%q]
%s`, name, id, host, iface, extra)
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var (
	readyRe     = regexp.MustCompile(`msg="bench ready".* api=http://\[::\]:(\d+)`)
	announcedRe = regexp.MustCompile(`msg="mdns: announced" instance="?([^"]+?)"? host`)
)

// startBench runs packbenchd in ns and returns it with its API port once it
// announced itself.
func startBench(t *testing.T, ns, conf string) (*proc, string, string) {
	t.Helper()
	dir := t.TempDir()
	p := startIn(t, ns, []string{"HOME=" + dir}, buildDaemon(t), "--config", conf, "--data-dir", dir, "--listen", "0.0.0.0:0")
	port := p.waitLine(t, readyRe, 20*time.Second)[1]
	instance := p.waitLine(t, announcedRe, 20*time.Second)[1]
	return p, port, instance
}

// discoverJSON runs `packbench discover --json` in ns.
func discoverJSON(t *testing.T, ns string, args ...string) []benchListing {
	t.Helper()
	argv := append([]string{"netns", "exec", ns, buildCLI(t), "discover", "--json"}, args...)
	out, err := exec.Command("ip", argv...).Output()
	if err != nil {
		t.Fatalf("discover: %v", err)
	}
	var l []benchListing
	if err := json.Unmarshal(out, &l); err != nil {
		t.Fatalf("discover output: %v\n%s", err, out)
	}
	return l
}

// nextWatch returns the next --watch --json line matching ok.
func nextWatch(t *testing.T, w *proc, within time.Duration, ok func(watchLine) bool) watchLine {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case l, open := <-w.lines:
			if !open {
				t.Fatalf("discover --watch ended:\n%s", w.output())
			}
			var ev watchLine
			if json.Unmarshal([]byte(l), &ev) == nil && ok(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no matching watch event within %v:\n%s", within, w.output())
		}
	}
}

// TestMDNSBetweenNamespaces: a bench announcing in one namespace is found
// from the other by discover (with its TXT), by avahi and by name; an
// address change is announced again; a second bench with the same name
// gets another; shutdowns are departures.
func TestMDNSBetweenNamespaces(t *testing.T) {
	requireNetns(t, "avahi-daemon", "avahi-browse", "avahi-resolve", "dbus-daemon")
	nsA, ifA, nsB, ifB := vethPair(t)
	watch := startIn(t, nsB, nil, buildCLI(t), "discover", "--watch", "--json", "--printers=false")

	bench1, port, inst := startBench(t, nsA, benchTOML(t, "Bench 1", "dev-a", "bench-a", ifA, "[raw9100]\nlisten = \"0.0.0.0:9100\"\nprinter = \"spool\"\n"))
	if inst != "Bench 1" {
		t.Fatalf("first bench announced as %q", inst)
	}
	// Found from the other namespace within 2 s (the listen window), with
	// the right TXT.
	found := discoverJSON(t, nsB, "--timeout", "2s", "--printers=false")
	if len(found) != 1 {
		t.Fatalf("discover found %+v, want one bench", found)
	}
	f := found[0]
	if f.Name != "Bench 1" || f.Kind != "bench" || fmt.Sprint(f.Port) != port || f.ID != "dev-a" || f.Version != "dev" ||
		f.URL != "http://10.77.0.1:"+port || f.Page != "http://bench-a.local:"+port+"/" || !slices.Equal(f.Addresses, []string{"10.77.0.1"}) ||
		f.TXT["txtvers"] != "1" || f.TXT["api"] != "/api/v1" || f.TXT["name"] != "Bench 1" || len(f.TXT) != 5 {
		t.Fatalf("discovered %+v", f)
	}
	if ev := nextWatch(t, watch, 10*time.Second, func(w watchLine) bool { return w.Bench.Name == "Bench 1" }); ev.Event != "add" {
		t.Fatalf("watch: first event %+v", ev)
	}

	// The CLI with a fresh HOME and nothing configured finds the one bench
	// by discovery.
	home := t.TempDir()
	out, err := exec.Command("ip", "netns", "exec", nsB, "env", "-i", "HOME="+home, buildCLI(t), "status").CombinedOutput()
	if err != nil || !regexp.MustCompile(`daemon:\s+http://10\.77\.0\.1:`+port+` \(ok`).Match(out) {
		t.Fatalf("status by discovery: %v\n%s", err, out)
	}

	// An independent client: avahi in the other namespace sees the same
	// records and resolves the host name.
	avahi := startAvahi(t, nsB, ifB)
	out, err = avahi("avahi-browse", "--resolve", "--terminate", "--parsable", "_packbench._tcp")
	want := fmt.Sprintf(`=;%s;IPv4;Bench\0321;_packbench._tcp;local;bench-a.local;10.77.0.1;%s;`, ifB, port)
	if err != nil || !strings.Contains(string(out), want) {
		t.Fatalf("avahi-browse: %v\n%s\nwant a line starting %s", err, out, want)
	}
	for _, kv := range []string{`"txtvers=1"`, `"id=dev-a"`, `"name=Bench 1"`, `"fw=dev"`, `"api=/api/v1"`} {
		if !strings.Contains(string(out), kv) {
			t.Fatalf("avahi-browse: TXT lacks %s:\n%s", kv, out)
		}
	}
	out, err = avahi("avahi-browse", "--resolve", "--terminate", "--parsable", "_http._tcp")
	if err != nil || !strings.Contains(string(out), `;bench-a.local;10.77.0.1;`+port+`;"path=/"`) {
		t.Fatalf("avahi-browse _http._tcp: %v\n%s", err, out)
	}
	// The raw 9100 port is a network printer to CUPS and desktop dialogs.
	out, err = avahi("avahi-browse", "--resolve", "--terminate", "--parsable", "_pdl-datastream._tcp")
	if err != nil || !strings.Contains(string(out), `;bench-a.local;10.77.0.1;9100;`) {
		t.Fatalf("avahi-browse _pdl-datastream._tcp: %v\n%s", err, out)
	}
	for _, kv := range []string{`"txtvers=1"`, `"qtotal=1"`, `"pdl=application/vnd.zebra-zpl"`, `"adminurl=http://bench-a.local:` + port + `/"`} {
		if !strings.Contains(string(out), kv) {
			t.Fatalf("avahi-browse _pdl-datastream._tcp: TXT lacks %s:\n%s", kv, out)
		}
	}
	out, err = avahi("avahi-resolve", "--name", "bench-a.local", "-4")
	if err != nil || !strings.Contains(string(out), "10.77.0.1") {
		t.Fatalf("avahi-resolve bench-a.local: %v\n%s", err, out)
	}

	// An address change is announced again (the announcer polls every 5 s).
	if out, err := exec.Command("ip", "-n", nsA, "addr", "add", "10.77.0.11/24", "dev", ifA).CombinedOutput(); err != nil {
		t.Fatalf("add address: %v %s", err, out)
	}
	nextWatch(t, watch, 20*time.Second, func(w watchLine) bool {
		return w.Event != "remove" && w.Bench.Name == "Bench 1" && slices.Contains(w.Bench.Addresses, "10.77.0.11")
	})

	// A second bench with the same name and host name (same namespace: it
	// hears the first) takes others.
	bench2, port2, inst2 := startBench(t, nsA, benchTOML(t, "Bench 1", "dev-b", "bench-a", ifA, ""))
	if inst2 != "Bench 1 (2)" {
		t.Fatalf("second bench announced as %q, want \"Bench 1 (2)\"", inst2)
	}
	ev := nextWatch(t, watch, 10*time.Second, func(w watchLine) bool { return w.Bench.Name == "Bench 1 (2)" })
	if ev.Event != "add" || fmt.Sprint(ev.Bench.Port) != port2 || ev.Bench.ID != "dev-b" || ev.Bench.Host != "bench-a-2.local" ||
		ev.Bench.Page != "http://bench-a-2.local:"+port2+"/" {
		t.Fatalf("second bench: %+v", ev)
	}
	out, err = avahi("avahi-resolve", "--name", "bench-a-2.local", "-4")
	if err != nil || !strings.Contains(string(out), "10.77.0.") {
		t.Fatalf("avahi-resolve bench-a-2.local: %v\n%s", err, out)
	}
	found = discoverJSON(t, nsB, "--timeout", "2s")
	if len(found) != 3 || found[0].Name != "Bench 1" || found[1].Name != "Bench 1 (2)" ||
		found[2].Kind != "printer" || found[2].Port != 9100 || found[2].Host != "bench-a.local" {
		t.Fatalf("discover with two benches (the first with its 9100 port): %+v", found)
	}
	// With two benches, the CLI does not guess.
	out, err = exec.Command("ip", "netns", "exec", nsB, "env", "-i", "HOME="+home, buildCLI(t), "status").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "2 benches answer on the LAN") || !strings.Contains(string(out), "--url") {
		t.Fatalf("status with two benches: %v\n%s", err, out)
	}

	// Shutdowns are departures, by goodbye, at once.
	if err := bench2.stop(); err != nil {
		t.Fatalf("bench 2 exit: %v", err)
	}
	ev = nextWatch(t, watch, 10*time.Second, func(w watchLine) bool { return w.Event == "remove" })
	if ev.Bench.Name != "Bench 1 (2)" || ev.Reason != "goodbye" {
		t.Fatalf("bench 2 stopped: %+v", ev)
	}
	if err := bench1.stop(); err != nil {
		t.Fatalf("bench 1 exit: %v", err)
	}
	ev = nextWatch(t, watch, 10*time.Second, func(w watchLine) bool { return w.Event == "remove" })
	if ev.Bench.Name != "Bench 1" || ev.Reason != "goodbye" {
		t.Fatalf("bench 1 stopped: %+v", ev)
	}
}

// startAvahi runs a private D-Bus and avahi-daemon in ns (its own /run,
// since `ip netns exec` gives each command a private mount namespace) and
// returns a runner for avahi's clients against them.
func startAvahi(t *testing.T, ns, iface string) func(args ...string) ([]byte, error) {
	t.Helper()
	dir := t.TempDir()
	bus := filepath.Join(dir, "bus")
	busConf := `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=` + bus + `</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`
	avahiConf := `[server]
host-name=avahi-` + ns + `
use-ipv4=yes
use-ipv6=no
allow-interfaces=` + iface + `
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
publish-addresses=no
publish-hinfo=no
publish-workstation=no
`
	for name, data := range map[string]string{"bus.conf": busConf, "avahi.conf": avahiConf} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dbus := startIn(t, ns, nil, "dbus-daemon", "--config-file="+filepath.Join(dir, "bus.conf"), "--nofork", "--nopidfile", "--print-address")
	dbus.waitLine(t, regexp.MustCompile(`^unix:path=`), 10*time.Second)
	env := "DBUS_SYSTEM_BUS_ADDRESS=unix:path=" + bus
	avahi := startIn(t, ns, []string{env}, "sh", "-c",
		"mount -t tmpfs tmpfs /run && mkdir /run/avahi-daemon && exec avahi-daemon -f "+filepath.Join(dir, "avahi.conf")+
			" --no-drop-root --no-chroot --no-rlimits --no-proc-title")
	avahi.waitLine(t, regexp.MustCompile(`Server startup complete`), 10*time.Second)
	return func(args ...string) ([]byte, error) {
		argv := append([]string{"netns", "exec", ns, "env", env}, args...)
		out, err := exec.Command("ip", argv...).CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%s: %v", args[0], err)
		}
		return out, err
	}
}
