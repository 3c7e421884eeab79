package queue

import (
	"fmt"
	"path/filepath"
)

// Free-space defaults: new work is refused under DefaultMinFree and the
// health report warns under DefaultWarnFree. Each is a size or a share
// of the filesystem, whichever is smaller, so a small card is not refused
// outright by a floor meant for a large one.
var (
	DefaultMinFree  = Floor{Bytes: 64 << 20, Percent: 5}
	DefaultWarnFree = Floor{Bytes: 256 << 20, Percent: 20}
)

// Space is the size of the filesystem holding the data file, in bytes.
// Free is what an unprivileged writer may use (statfs f_bavail).
type Space struct {
	Free, Total uint64
}

// SpaceFunc measures the filesystem holding dir.
type SpaceFunc func(dir string) (Space, error)

// Floor is a free-space threshold: Bytes, or Percent of the filesystem,
// the smaller of the two when both are set. The zero Floor means the
// default of the option it sets.
type Floor struct {
	Bytes   uint64
	Percent float64
}

// IsZero reports whether the floor is unset.
func (f Floor) IsZero() bool { return f.Bytes == 0 && f.Percent == 0 }

// Of is the floor in bytes on a filesystem of total bytes.
func (f Floor) Of(total uint64) uint64 {
	pct := uint64(float64(total) * f.Percent / 100)
	switch {
	case f.Percent <= 0:
		return f.Bytes
	case f.Bytes == 0:
		return pct
	}
	return min(f.Bytes, pct)
}

func (f Floor) validate(name string) error {
	if f.Percent < 0 || f.Percent >= 100 {
		return invalidf("%s: percent %g: want 0 to 99", name, f.Percent)
	}
	return nil
}

// DiskSpace is the data file's filesystem as the free-space check sees it.
type DiskSpace struct {
	Space
	MinFree  uint64 // under this, new work is refused (ErrDiskFull)
	WarnFree uint64 // under this, the disk is low (a health warning); never under MinFree
}

// Full reports whether new work is refused.
func (s DiskSpace) Full() bool { return s.Free < s.MinFree }

// Low reports whether free space is under the warning level.
func (s DiskSpace) Low() bool { return s.Free < s.WarnFree }

// DiskFullError refuses new work: the data file's filesystem has less
// free space than the floor. Work already accepted goes on.
type DiskFullError struct {
	Free, MinFree uint64
}

func (e *DiskFullError) Error() string {
	return fmt.Sprintf("disk full: %s free on the data file's filesystem, new work needs at least %s; free some space (old spool files, logs) or lower the floor",
		FormatBytes(e.Free), FormatBytes(e.MinFree))
}

// Is makes errors.Is(err, ErrDiskFull) true.
func (e *DiskFullError) Is(target error) bool { return target == ErrDiskFull }

// FormatBytes writes n in binary units ("63.5 MiB").
func FormatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// DiskSpace measures the filesystem holding the data file.
func (d *DB) DiskSpace() (DiskSpace, error) {
	sp, err := d.opts.DiskSpace(filepath.Dir(d.path))
	if err != nil {
		return DiskSpace{}, fmt.Errorf("queue: disk space: %w", err)
	}
	floor := d.opts.MinFree.Of(sp.Total)
	// A floor raised above the warning level still warns before it refuses.
	return DiskSpace{Space: sp, MinFree: floor, WarnFree: max(floor, d.opts.WarnFree.Of(sp.Total))}, nil
}

// CheckSpace returns a *DiskFullError (ErrDiskFull) when free space is
// under the floor (Options.MinFree): callers refuse new work with it
// before they commit anything. When the space cannot be measured (no
// statfs on this system) it returns nil: the commit itself then decides.
func (d *DB) CheckSpace() error {
	s, err := d.DiskSpace()
	if err != nil {
		return nil // unmeasurable: the commit decides; DiskSpace reports why
	}
	if s.Full() {
		return &DiskFullError{Free: s.Free, MinFree: s.MinFree}
	}
	return nil
}

// CheckSpace is DB.CheckSpace for code inside a transaction (see
// DB.Update): a create that finds its work already done (a repeated key)
// answers as before, and only new work is refused.
func (tx *Tx) CheckSpace() error { return tx.d.CheckSpace() }

// StatfsSpace measures dir's filesystem (statfs f_bavail and size); it
// is the default Options.DiskSpace, exported for the firmware stager.
func StatfsSpace(dir string) (Space, error) { return statfsSpace(dir) }
