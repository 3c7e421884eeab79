package labelrender

// The independent renderer (zpl-renderer-js: zebrash compiled to
// WebAssembly) runs as one node process per test binary,
// tools/interop/serve.mjs, instead of one node per label: starting node and
// warming up the renderer cost more than most renders. Requests carry ids and
// are pipelined, so a test can queue its labels and decode one while node
// draws the next.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	code := m.Run()
	zebrash.stop()
	os.Exit(code)
}

// zebrash is shared by every test of the binary (hence package-level, in
// tests only); TestMain stops it.
var zebrash zebrashServer

// zebrashWait bounds how long a test waits for one render, queue included.
const zebrashWait = 5 * time.Minute

// zebrashServer starts the node process on first use and again after it
// failed, so one broken render does not fail every later test.
type zebrashServer struct {
	mu   sync.Mutex
	proc *zebrashProc
}

func (s *zebrashServer) get(t testing.TB) *zebrashProc {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil && s.proc.failed() == nil {
		return s.proc
	}
	if s.proc != nil {
		s.proc.stop()
		s.proc = nil
	}
	node, dir := interopTool(t)
	p, err := startZebrash(node, dir)
	if err != nil {
		t.Fatal(err)
	}
	s.proc = p
	return p
}

func (s *zebrashServer) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		s.proc.stop()
		s.proc = nil
	}
}

type zebrashReply struct {
	png []byte
	err error
}

type zebrashProc struct {
	cmd    *exec.Cmd
	stderr *tailBuffer
	done   chan struct{} // closed when the reply reader ends

	wmu   sync.Mutex // one request frame at a time on stdin
	stdin io.WriteCloser

	mu      sync.Mutex
	nextID  int
	pending map[int]chan zebrashReply
	err     error // set once the process is unusable
}

func startZebrash(node, dir string) (*zebrashProc, error) {
	cmd := exec.Command(node, filepath.Join(dir, "serve.mjs"))
	cmd.Dir = dir
	p := &zebrashProc{cmd: cmd, stderr: &tailBuffer{}, done: make(chan struct{}), pending: map[int]chan zebrashReply{}}
	cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting serve.mjs: %w", err)
	}
	go p.readReplies(stdout)
	return p, nil
}

func (p *zebrashProc) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// fail makes the process unusable and answers every waiting request.
func (p *zebrashProc) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = fmt.Errorf("zpl-renderer-js (serve.mjs): %w\nstderr: %s", err, p.stderr.String())
	}
	for id, ch := range p.pending {
		ch <- zebrashReply{err: p.err}
		delete(p.pending, id)
	}
}

func (p *zebrashProc) readReplies(r io.Reader) {
	defer close(p.done)
	br := bufio.NewReaderSize(r, 1<<16)
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			p.fail(fmt.Errorf("reading a reply: %w", err))
			return
		}
		var h struct {
			ID    int    `json:"id"`
			Bytes int    `json:"bytes"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal(line, &h); err != nil || h.Bytes < 0 {
			p.fail(fmt.Errorf("reply header %.200q: %v", line, err))
			return
		}
		body := make([]byte, h.Bytes)
		if _, err := io.ReadFull(br, body); err != nil {
			p.fail(fmt.Errorf("reading the %d bytes of reply %d: %w", h.Bytes, h.ID, err))
			return
		}
		p.mu.Lock()
		ch, ok := p.pending[h.ID]
		delete(p.pending, h.ID)
		p.mu.Unlock()
		if !ok {
			p.fail(fmt.Errorf("reply to request %d, which is not waiting", h.ID))
			return
		}
		if h.Error != "" {
			ch <- zebrashReply{err: errors.New(h.Error)}
		} else {
			ch <- zebrashReply{png: body}
		}
	}
}

// send queues one render; the reply arrives on the returned channel.
func (p *zebrashProc) send(zpl []byte, widthMM, heightMM float64, dpmm int) <-chan zebrashReply {
	ch := make(chan zebrashReply, 1)
	p.mu.Lock()
	if p.err != nil {
		ch <- zebrashReply{err: p.err}
		p.mu.Unlock()
		return ch
	}
	p.nextID++
	id := p.nextID
	p.pending[id] = ch
	p.mu.Unlock()

	head, _ := json.Marshal(map[string]any{"id": id, "width_mm": widthMM, "height_mm": heightMM, "dpmm": dpmm, "bytes": len(zpl)})
	frame := append(append(head, '\n'), zpl...)
	p.wmu.Lock()
	_, err := p.stdin.Write(frame)
	p.wmu.Unlock()
	if err != nil {
		p.fail(fmt.Errorf("sending request %d: %w", id, err))
	}
	return ch
}

func (p *zebrashProc) stop() {
	p.stdin.Close()
	p.cmd.Process.Kill()
	<-p.done // node's end of stdout closed with it: readReplies saw EOF
	p.cmd.Wait()
}

// tailBuffer keeps the last few KB of node's stderr for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if n := len(b.buf) - 4096; n > 0 {
		b.buf = append(b.buf[:0], b.buf[n:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// zebrashRender is a render queued in the independent renderer.
type zebrashRender struct {
	reply        <-chan zebrashReply
	wDots, hDots int
}

// queueZebrash sends ZPL to the independent renderer at the label's size
// and returns at once; wait collects the result.
func queueZebrash(t testing.TB, zpl []byte, wDots, hDots, dpi int) *zebrashRender {
	t.Helper()
	return zebrash.queue(t, zpl, wDots, hDots, dpi)
}

func (s *zebrashServer) queue(t testing.TB, zpl []byte, wDots, hDots, dpi int) *zebrashRender {
	t.Helper()
	d := DotsPerMM(dpi)
	mm := func(dots int) float64 { return float64(dots) / float64(d) }
	return &zebrashRender{reply: s.get(t).send(zpl, mm(wDots), mm(hDots), d), wDots: wDots, hDots: hDots}
}

// wait returns the PNG the renderer produced and the image it decodes to.
func (r *zebrashRender) wait(t testing.TB) ([]byte, image.Image) {
	t.Helper()
	var rep zebrashReply
	select {
	case rep = <-r.reply:
	case <-time.After(zebrashWait):
		t.Fatalf("zpl-renderer-js: no answer within %v", zebrashWait)
	}
	if rep.err != nil {
		t.Fatalf("zpl-renderer-js: %v", rep.err)
	}
	img, err := png.Decode(bytes.NewReader(rep.png))
	if err != nil {
		t.Fatalf("zpl-renderer-js output: %v", err)
	}
	if b := img.Bounds(); b.Dx() != r.wDots || b.Dy() != r.hDots {
		t.Fatalf("zpl-renderer-js rendered %dx%d, want %dx%d", b.Dx(), b.Dy(), r.wDots, r.hDots)
	}
	return rep.png, img
}

// TestZebrashServer: a document the renderer refuses fails only its own
// request, replies reach the request that asked whatever order they are
// collected in, and a renderer that died is started again.
func TestZebrashServer(t *testing.T) {
	t.Parallel()
	// Its own process: the shared one serves other tests' queued labels.
	var s zebrashServer
	defer s.stop()
	box := func(w int) []byte {
		return []byte(fmt.Sprintf("^XA^FO8,8^GB%d,16,16^FS^XZ", w))
	}
	bad := s.queue(t, []byte("no format here"), 64, 40, 203)
	first, second := s.queue(t, box(40), 64, 40, 203), s.queue(t, box(16), 64, 40, 203)
	select {
	case rep := <-bad.reply:
		if rep.err == nil {
			t.Fatal("a document without ^XA rendered")
		}
	case <-time.After(zebrashWait):
		t.Fatal("no answer for the bad document")
	}
	// Collected in reverse: each box must be its own width.
	for _, c := range []struct {
		r *zebrashRender
		w int
	}{{second, 16}, {first, 40}} {
		_, img := c.r.wait(t)
		ink := inkOf(img)
		if !ink.Black(8, 12) || !ink.Black(8+c.w-1, 12) || ink.Black(8+c.w+1, 12) {
			t.Fatalf("box of width %d drawn wrongly", c.w)
		}
	}
	// Kill the process: the next render starts a new one.
	p := s.get(t)
	p.cmd.Process.Kill()
	<-p.done
	if p.failed() == nil {
		t.Fatal("a killed renderer is not marked failed")
	}
	_, img := s.queue(t, box(24), 64, 40, 203).wait(t)
	if !inkOf(img).Black(8+23, 12) {
		t.Fatal("the restarted renderer drew wrongly")
	}
	if s.get(t) == p {
		t.Fatal("the dead renderer was reused")
	}
}
