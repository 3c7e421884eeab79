package device

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Spool is the folder printer of the embedded default: each job is written
// atomically (temp file, fsync, rename, fsync of the folder) as
// <job-id>.zpl. Its Status is ready with nothing in the buffer as long as the
// folder is writable, so the worker reports a spooled job as printed once the
// file is durable: nothing further can happen to it.
type Spool struct {
	name, dir string

	mu sync.Mutex
}

// NewSpool returns a spool printer writing into dir (created when missing).
func NewSpool(name, dir string) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("spool printer %q: create folder: %w", name, err)
	}
	return &Spool{name: name, dir: dir}, nil
}

// Name implements Printer.
func (s *Spool) Name() string { return s.name }

// Dir is the folder jobs are written to.
func (s *Spool) Dir() string { return s.dir }

// Close implements Printer.
func (s *Spool) Close() error { return nil }

// Send implements Printer; the file gets a random name. The worker uses
// SendJob, which names the file after the job.
func (s *Spool) Send(ctx context.Context, data []byte) (int, error) {
	var r [8]byte
	_, _ = rand.Read(r[:])
	return s.SendJob(ctx, "job-"+hex.EncodeToString(r[:]), data)
}

// SendJob writes data as <id>.zpl (the worker passes all copies at once).
// Writing the same id again replaces the file, so a retried job never leaves
// two files in the folder.
func (s *Spool) SendJob(ctx context.Context, id string, data []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	name, err := spoolFileName(id)
	if err != nil {
		return 0, Permanent(fmt.Errorf("spool printer %q: %w", s.name, err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	final := filepath.Join(s.dir, name)
	tmp, err := os.CreateTemp(s.dir, ".tmp-"+name+"-*")
	if err != nil {
		return 0, fmt.Errorf("spool printer %q: %w", s.name, err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return 0, fmt.Errorf("spool printer %q: write %s: %w", s.name, name, err)
	}
	if err := tmp.Sync(); err != nil {
		return 0, fmt.Errorf("spool printer %q: fsync %s: %w", s.name, name, err)
	}
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("spool printer %q: close %s: %w", s.name, name, err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return 0, fmt.Errorf("spool printer %q: rename %s: %w", s.name, name, err)
	}
	ok = true
	if d, err := os.Open(s.dir); err == nil {
		_ = d.Sync() // make the rename itself durable
		d.Close()
	}
	return len(data), nil
}

// spoolFileName makes a job id safe as a file name: no separators, no
// leading dot, nothing that can climb out of the folder.
func spoolFileName(id string) (string, error) {
	if id == "" || len(id) > 200 {
		return "", fmt.Errorf("job id %q: must be 1 to 200 characters", id)
	}
	var b strings.Builder
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	n := b.String()
	if strings.HasPrefix(n, ".") {
		n = "_" + n[1:]
	}
	return n + ".zpl", nil
}

// Status implements Printer: ready while the folder is a writable directory.
func (s *Spool) Status(ctx context.Context) (Status, error) {
	fi, err := os.Stat(s.dir)
	if err != nil || !fi.IsDir() {
		st := Status{State: StateOffline, Known: true, Reason: fmt.Sprintf("spool folder %s missing", s.dir)}
		if err == nil {
			err = fmt.Errorf("%s is not a folder", s.dir)
		}
		return st, fmt.Errorf("spool printer %q: %w", s.name, err)
	}
	return Status{State: StateReady, Known: true}, nil
}
