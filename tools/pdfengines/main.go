// Command pdfengines measures the two PDF engines issue 20 named, on one PDF,
// side by side in one run: poppler's pdftoppm (a child process per
// document, the engine packbench uses) and pdfium compiled to WebAssembly
// (github.com/klippa-app/go-pdfium on wazero, in this process). It is its
// own module so the daemon's build never pulls the WebAssembly engine.
//
//	go run . -n 30 label.pdf
//
// Each engine renders page 1 at 203 dpi in 8-bit grey, n times. The figures
// are start-up (pdfium: compiling the module; with -cache DIR, wazero's
// compilation cache, which a second run reuses), p50 and p99 per page, and
// peak RSS (pdftoppm: the largest child; pdfium: this process's VmHWM, so
// run each engine in its own process with -engine).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/klippa-app/go-pdfium/requests"
	"github.com/klippa-app/go-pdfium/webassembly"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

func main() {
	n := flag.Int("n", 30, "renders per engine")
	engine := flag.String("engine", "both", "pdftoppm, pdfium or both")
	cache := flag.String("cache", "", "wazero compilation cache directory for pdfium")
	flag.Parse()
	data, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if *engine != "pdfium" {
		poppler(data, *n)
	}
	if *engine != "pdftoppm" {
		pdfium(data, *n, *cache)
	}
}

func report(name string, ds []time.Duration, extra string) {
	slices.Sort(ds)
	fmt.Printf("%-9s p50 %6.1f ms  p99 %6.1f ms  min %6.1f ms  %s\n", name,
		ms(ds[len(ds)/2]), ms(ds[len(ds)*99/100]), ms(ds[0]), extra)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func poppler(data []byte, n int) {
	var ds []time.Duration
	for range n {
		t0 := time.Now()
		cmd := exec.Command("pdftoppm", "-gray", "-r", "203", "-f", "1", "-l", "1", "-")
		cmd.Stdin = bytes.NewReader(data)
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Run(); err != nil {
			panic(err)
		}
		ds = append(ds, time.Since(t0))
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	report("pdftoppm", ds, fmt.Sprintf("(process start included, no start-up of its own)  peak RSS %.1f MB", float64(ru.Maxrss)/1024))
}

func hwm() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb float64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb / 1024
		}
	}
	return 0
}

func pdfium(data []byte, n int, cacheDir string) {
	t0 := time.Now()
	cfg := webassembly.Config{MinIdle: 1, MaxIdle: 1, MaxTotal: 1, Context: context.Background()}
	if cacheDir != "" {
		cc, err := wazero.NewCompilationCacheWithDir(cacheDir)
		if err != nil {
			panic(err)
		}
		cfg.RuntimeConfig = wazero.NewRuntimeConfig().WithCoreFeatures(api.CoreFeaturesV2 | experimental.CoreFeaturesExceptionHandling).WithCompilationCache(cc)
	}
	pool, err := webassembly.Init(cfg)
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	inst, err := pool.GetInstance(time.Minute)
	if err != nil {
		panic(err)
	}
	start := time.Since(t0)
	var ds []time.Duration
	for range n {
		t := time.Now()
		doc, err := inst.OpenDocument(&requests.OpenDocument{File: &data})
		if err != nil {
			panic(err)
		}
		r, err := inst.RenderPageInDPI(&requests.RenderPageInDPI{DPI: 203, ImageFormat: requests.RenderImageFormatGrayscale,
			Page: requests.Page{ByIndex: &requests.PageByIndex{Document: doc.Document, Index: 0}}})
		if err != nil {
			panic(err)
		}
		r.Cleanup()
		inst.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: doc.Document})
		ds = append(ds, time.Since(t))
	}
	report("pdfium", ds, fmt.Sprintf("start-up %.2f s  peak RSS %.1f MB", start.Seconds(), hwm()))
}
