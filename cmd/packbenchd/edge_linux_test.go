package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const edgeKey = "edge-test-key-0123456789abcdef0123456789abcdef"

// edgeDaemon starts the real daemon with a spool printer, the simulated
// scale and extra TOML appended (an [api] section, say).
func edgeDaemon(t *testing.T, extra string, args ...string) *daemon {
	t.Helper()
	dir := t.TempDir()
	cfg := writeConfig(t, minimalTOML+extra)
	d := startDaemonBin(t, daemonBin, dir, []string{"PACKBENCH_API_KEY=" + edgeKey}, append([]string{"--config", cfg}, args...)...)
	d.key = edgeKey
	return d
}

// hostPort is the daemon's 127.0.0.1:PORT.
func (d *daemon) hostPort() string { return strings.TrimPrefix(d.url, "http://") }

// rawRequest sends req on a fresh connection and reads one answer.
func rawRequest(t *testing.T, addr, req string) (*http.Response, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to %q: %v", strings.SplitN(req, "\r\n", 2)[0], err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// wantCode checks an error answer's status and code, and that it has a
// plain message.
func wantCode(t *testing.T, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if resp.StatusCode != status || json.Unmarshal(body, &e) != nil || e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("answer %d %s, want %d with code %s and a message", resp.StatusCode, body, status, code)
	}
}

// TestDaemonHostCheck: a DNS-rebinding page sends its own name as Host
// and gets 421; the bench's names, loopback and [api] hosts are served.
func TestDaemonHostCheck(t *testing.T) {
	plain := edgeDaemon(t, "")
	resp, body := rawRequest(t, plain.hostPort(), "GET /api/v1/health HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
	wantCode(t, resp, body, http.StatusMisdirectedRequest, "host_not_allowed")
	plain.stop()

	d := edgeDaemon(t, "[api]\nhosts = [\"packbench.example.test\"]\n")
	for _, host := range []string{"evil.example", "evil.example:" + portOf(d), "packbench.example.test.evil.example", "127.0.0.1.nip.io"} {
		resp, body := rawRequest(t, d.hostPort(), "GET /api/v1/health HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
		wantCode(t, resp, body, http.StatusMisdirectedRequest, "host_not_allowed")
		// With a key too: the page may have guessed it, the browser sends it.
		resp, body = rawRequest(t, d.hostPort(), "GET /api/v1/jobs HTTP/1.1\r\nHost: "+host+"\r\nAuthorization: Bearer "+edgeKey+"\r\nConnection: close\r\n\r\n")
		wantCode(t, resp, body, http.StatusMisdirectedRequest, "host_not_allowed")
	}
	hn, _ := os.Hostname()
	hosts := []string{}
	// A non-loopback interface address, as a LAN client types it.
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
				hosts = append(hosts, ipn.IP.String()+":"+portOf(d))
				break
			}
		}
	}
	for _, host := range append(hosts, "localhost:"+portOf(d), "127.0.0.1:"+portOf(d), "[::1]:"+portOf(d), "LOCALHOST", "packbench.example.test", hn, hn+".local") {
		resp, body := rawRequest(t, d.hostPort(), "GET /api/v1/health HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("Host %s: %d %s", host, resp.StatusCode, body)
		}
	}
}

func portOf(d *daemon) string {
	_, p, _ := net.SplitHostPort(d.hostPort())
	return p
}

// vmHWM is the peak resident set of pid in bytes (/proc/PID/status).
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no VmHWM in /proc/%d/status", pid)
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb << 10
}

// zeros is a generator of n bytes that never holds them: a 1 GB body
// without 1 GB of memory in the test either.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > z.n {
		p = p[:z.n]
	}
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}

// TestDaemonHugeBody: a declared 1 GB body is refused with 413 before a
// byte of it is read (the answer comes while the client has sent only
// the headers), a chunked 1 GB body is cut at max_body, the connection is
// closed instead of drained, and the daemon's peak RSS stays under 64 MB.
func TestDaemonHugeBody(t *testing.T) {
	d := edgeDaemon(t, "")
	const gig = 1 << 30
	pid := d.cmd.Process.Pid

	// Declared: only the headers go out; the answer must come anyway.
	c, err := net.Dial("tcp", d.hostPort())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "POST /api/v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", edgeKey, int64(gig))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer before the body was sent: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	wantCode(t, resp, body, http.StatusRequestEntityTooLarge, "body_too_large")
	if !resp.Close {
		t.Errorf("413 without Connection: close")
	}
	// The daemon closes: a read sees EOF (or a reset), not a wait.
	if _, err := br.ReadByte(); err == nil {
		t.Errorf("connection still open after the 413")
	}

	// Declared and streamed whole: the client's write fails early.
	for _, chunked := range []bool{false, true} {
		req, err := http.NewRequest("POST", d.url+"/api/v1/orders", &zeros{n: gig})
		if err != nil {
			t.Fatal(err)
		}
		if !chunked {
			req.ContentLength = gig
		}
		req.Header.Set("Authorization", "Bearer "+edgeKey)
		req.Header.Set("Content-Type", "application/json")
		tr := &http.Transport{}
		resp, err := (&http.Client{Transport: tr, Timeout: 60 * time.Second}).Do(req)
		tr.CloseIdleConnections()
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if chunked {
				wantCode(t, resp, body, http.StatusRequestEntityTooLarge, "body_too_large")
			} else if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("declared 1 GB: %d %s", resp.StatusCode, body)
			}
		}
		// A write error (the daemon closed while the body went out) is the
		// other honest outcome; either way the daemon read at most max_body.
	}
	if hwm := vmHWM(t, pid); hwm >= 64<<20 {
		t.Fatalf("daemon peak RSS %d MB after 1 GB bodies, want < 64 MB", hwm>>20)
	} else {
		t.Logf("daemon peak RSS %.1f MB", float64(hwm)/(1<<20))
	}
	if _, err := d.call("GET", "/api/v1/health", nil, nil); err != nil {
		t.Fatalf("health after the bodies: %v", err)
	}
}

// TestDaemonSlowClients: under a low open-file limit, 200 clients that
// send requests (event streams and a large answer) and never read hold
// no more than the connection cap, and a new client is still answered.
// Before the cap, the slow clients used up the file limit, accept failed,
// and the new client waited in the backlog for minutes.
func TestDaemonSlowClients(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, minimalTOML)
	// The daemon under a file limit below 200 connections (sh's ulimit sets
	// soft and hard, so Go cannot raise it); the default max_connections
	// is lowered to fit.
	d := startDaemonBin(t, "/bin/sh", dir, []string{"PACKBENCH_API_KEY=" + edgeKey},
		"-c", `ulimit -n 160 && exec "$0" "$@"`, daemonBin, "--config", cfg)
	d.key = edgeKey
	if _, err := d.waitLog(regexp.MustCompile(`max_connections lowered.* now=96`), 10*time.Second); err != nil {
		t.Fatalf("the connection cap was not fitted to the file limit: %v", err)
	}

	var slow []net.Conn
	t.Cleanup(func() {
		for _, c := range slow {
			c.Close()
		}
	})
	for i := range 200 {
		c, err := net.Dial("tcp", d.hostPort())
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		slow = append(slow, c)
		path := "/api/v1/openapi.json"
		if i%10 == 0 {
			path = "/api/v1/scale/events"
		}
		if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n", path, edgeKey); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}

	// A new client, after all 200: answered, not left in the backlog.
	client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range 3 {
		start := time.Now()
		resp, err := client.Get(d.url + "/api/v1/health")
		if err != nil {
			t.Fatalf("health %d with 200 slow clients: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("health %d with 200 slow clients: %d %s", i, resp.StatusCode, body)
		}
		t.Logf("health %d answered in %v", i, time.Since(start)) // reported, not asserted
	}
	if strings.Contains(d.log(), "too many open files") {
		t.Errorf("the daemon ran out of file descriptors:\n%s", d.log())
	}
}
