package device

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
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

// SpoolFileMode is the mode of every file in a spool folder (the job's
// .zpl and the daemon's .png preview beside it): readable by whoever
// collects the labels, written only by the bench.
const SpoolFileMode = 0o644

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
	tmp, err := os.CreateTemp(s.dir, spoolTempPrefix+name+"-*")
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
	if err := tmp.Chmod(SpoolFileMode); err != nil {
		return 0, fmt.Errorf("spool printer %q: chmod %s: %w", s.name, name, err)
	}
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

// spoolTempPrefix starts the names of files being written (SendJob's and
// the daemon's previews): never a finished job's file.
const spoolTempPrefix = ".tmp-"

// PruneOptions say which files Spool.Prune deletes.
type PruneOptions struct {
	// Before: files last written before it are deleted (zero: no age limit).
	Before time.Time
	// MaxBytes caps the folder: the oldest files are deleted until the
	// rest fit (0: no cap). A file being written is never one of them.
	MaxBytes int64
	// Keep reports whether the job a file belongs to is still in flight
	// (queued, being sent, uncertain); its files are never deleted. The
	// id is the file name without its extension: the id SendJob was
	// given ("j00000042" for j00000042.zpl and j00000042.png). nil: none is.
	Keep func(id string) bool
}

// PruneReport says what Prune did.
type PruneReport struct {
	Deleted    int   // files deleted
	Freed      int64 // their bytes
	Bytes      int64 // bytes left in the folder
	KeptFlight int   // files due for deletion but kept: their job is in flight
}

// Prune deletes the folder's old files (see PruneOptions), oldest first,
// so the spool of a bench that prints for years stays bounded. A file is
// deleted only if it is still the one looked at (a job written again
// meanwhile keeps its new file), under the lock SendJob writes under, so
// a job's file is never deleted while it is being written.
func (s *Spool) Prune(ctx context.Context, o PruneOptions) (PruneReport, error) {
	var r PruneReport
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return r, fmt.Errorf("spool printer %q: prune: %w", s.name, err)
	}
	type file struct {
		name string
		info fs.FileInfo
	}
	files := make([]file, 0, len(ents))
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return r, fmt.Errorf("spool printer %q: prune: %w", s.name, err)
		}
		files = append(files, file{e.Name(), fi})
		r.Bytes += fi.Size()
	}
	slices.SortFunc(files, func(a, b file) int {
		return cmp.Or(a.info.ModTime().Compare(b.info.ModTime()), strings.Compare(a.name, b.name))
	})
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		temp := strings.HasPrefix(f.name, spoolTempPrefix)
		old := !o.Before.IsZero() && f.info.ModTime().Before(o.Before)
		over := o.MaxBytes > 0 && r.Bytes > o.MaxBytes && !temp
		if !old && !over {
			continue
		}
		if !temp && o.Keep != nil && o.Keep(spoolJobID(f.name)) {
			r.KeptFlight++
			continue
		}
		ok, err := s.removeIfUnchanged(f.name, f.info)
		if err != nil {
			return r, fmt.Errorf("spool printer %q: prune: %w", s.name, err)
		}
		if ok {
			r.Deleted++
			r.Freed += f.info.Size()
			r.Bytes -= f.info.Size()
		}
	}
	return r, nil
}

// removeIfUnchanged deletes name if it is still the file seen (same size
// and time), under s.mu so no SendJob is writing it meanwhile.
func (s *Spool) removeIfUnchanged(name string, seen fs.FileInfo) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := filepath.Join(s.dir, name)
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !fi.ModTime().Equal(seen.ModTime()) || fi.Size() != seen.Size() {
		return false, nil // written again since it was listed
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	return true, nil
}

// spoolJobID is the job id a spool file belongs to: its name without the
// extension.
func spoolJobID(name string) string {
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		return name[:i]
	}
	return name
}
