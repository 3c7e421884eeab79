package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPrinterEmulatorCommand runs `packbench printer-emulator` in-process,
// prints to it over TCP, drives it through its HTTP control API and probes
// it with `packbench printers --tcp --probe`.
func TestPrinterEmulatorCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	std := &stdio{in: strings.NewReader(""), out: pw, err: io.Discard, log: slog.New(slog.DiscardHandler)}
	done := make(chan error, 1)
	dir := t.TempDir()
	go func() {
		done <- runPrinterEmulator(runCtx, std, []string{"--listen", "127.0.0.1:0", "--control", "127.0.0.1:0",
			"--speed", "0", "--save-dir", dir})
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	addrs := map[string]string{}
	for len(addrs) < 2 && lines.Scan() {
		k, v, _ := strings.Cut(lines.Text(), " ")
		addrs[k] = v
	}
	go io.Copy(io.Discard, pr)
	tcp, control := addrs["tcp"], addrs["control"]
	if !strings.HasPrefix(tcp, "127.0.0.1:") || !strings.HasPrefix(control, "http://127.0.0.1:") {
		t.Fatalf("startup lines: %v", addrs)
	}

	c, err := net.Dial("tcp", tcp)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("^XA^LL100^FDcli^FS^XZ~HS"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	reply := make([]byte, 0, 128)
	buf := make([]byte, 128)
	for bytes.Count(reply, []byte{0x03}) < 3 {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("~HS reply: %v", err)
		}
		reply = append(reply, buf[:n]...)
	}
	c.Close()

	var labels struct {
		Count  int
		Labels []struct{ ZPL, File string }
	}
	emuGetJSON(t, control+"/labels", &labels)
	if labels.Count != 1 || labels.Labels[0].ZPL != "^XA^LL100^FDcli^FS^XZ" || !strings.HasPrefix(labels.Labels[0].File, dir) {
		t.Fatalf("/labels: %+v", labels)
	}

	resp, err := http.Post(control+"/state", "application/json", strings.NewReader(`{"paper_out":true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var out bytes.Buffer
	pstd := &stdio{in: strings.NewReader(""), out: &out, err: io.Discard, log: slog.New(slog.DiscardHandler)}
	err = runPrinters(ctx, pstd, []string{"--sysfs", t.TempDir(), "--no-serial", "--json", "--probe", "--timeout", "200ms", "--tcp", tcp})
	if err != nil {
		t.Fatal(err)
	}
	var rows []printerListing
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("%v: %s", err, out.Bytes())
	}
	if len(rows) != 1 || rows[0].Kind != "tcp" || rows[0].Status != "paper_out" {
		t.Fatalf("printers --probe: %+v", rows)
	}

	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("emulator returned %v", err)
	}
}

func TestPrintersCommandUSBAndBadFlags(t *testing.T) {
	var out bytes.Buffer
	std := &stdio{in: strings.NewReader(""), out: &out, err: io.Discard, log: slog.New(slog.DiscardHandler)}
	if err := runPrinters(context.Background(), std, []string{"--sysfs", "../../device/testdata/sysfs", "--no-serial"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/dev/usb/lp0", "Zebra Technologies", "ZD420", "ZPL", "0a5f:0164", "QL-820NWB"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("listing lacks %q:\n%s", want, out.String())
		}
	}
	if err := runPrinterEmulator(context.Background(), std, []string{"--dpi", "250"}); err == nil || !strings.Contains(err.Error(), "--dpi 250") {
		t.Fatalf("bad --dpi: %v", err)
	}
	if err := runPrinterEmulator(context.Background(), std, []string{"--speed", "-1"}); err == nil || !strings.Contains(err.Error(), "--speed") {
		t.Fatalf("bad --speed: %v", err)
	}
}

func emuGetJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
