package firmware

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"aead.dev/minisign"

	"github.com/packbench/packbench/internal/clock"
	"github.com/packbench/packbench/queue"
)

// The layout under the store's directory (<data dir>/firmware):
//
//	versions/<version>/packbenchd         an installed binary (0755)
//	versions/<version>/manifest.json      its manifest (+ .minisig, and packbenchd.minisig)
//	current -> versions/<version>         what the bench starts; absent: the packaged binary
//	previous -> versions/<version>        what a rollback goes back to; absent: the packaged binary
//	pending.json                          an update switched to but not yet healthy
//	state.json                            the version floor and the last outcome
//	staging/                              an update being written (and partial downloads)
const (
	BinaryName   = "packbenchd"
	manifestName = "manifest.json"
	versionsDir  = "versions"
	stagingDir   = "staging"
	currentLink  = "current"
	previousLink = "previous"
	pendingFile  = "pending.json"
	stateFile    = "state.json"
)

// DefaultMaxStarts is how many starts a pending version gets without
// reporting healthy before the boot check rolls it back (a crash loop,
// or a hang that the systemd watchdog kills).
const DefaultMaxStarts = 3

// Options tune a Store; nil means defaults.
type Options struct {
	// Key is the trusted release key; Apply refuses everything without it.
	Key *minisign.PublicKey
	// Target is the running platform; zero: RunningTarget().
	Target Target
	// Running is the version of the running binary, for a bench that runs
	// its packaged binary (no current link yet); "" or "dev": unknown.
	Running string
	// Space measures a filesystem; nil: queue.StatfsSpace.
	Space queue.SpaceFunc
	// Reserve is free space an update must leave on the filesystem, so
	// staging never takes the queue's floor; zero: queue.DefaultMinFree.
	Reserve queue.Floor
	// MaxStarts: see DefaultMaxStarts.
	MaxStarts int
	// Events receives progress and outcomes; nil: none.
	Events func(Event)
	// Step is called at each named point of Apply and Rollback (tests kill
	// the process there); nil: none.
	Step func(name string)
	// Clock tells whether the wall clock is set (downloads); nil: the
	// real clock. Nothing else here reads the time.
	Clock clock.Clock
}

// Event is a progress or outcome report, published as firmware.<Type>.
type Event struct {
	Type    string `json:"type"` // verified, staged, switched, committed, rolled_back, refused, progress
	Version string `json:"version,omitempty"`
	From    string `json:"from,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Done    int64  `json:"done,omitempty"`
	Total   int64  `json:"total,omitempty"`
	Starts  int    `json:"starts,omitempty"`
}

// Pending is an update the bench switched to that has not reported
// healthy yet.
type Pending struct {
	Version  string `json:"version"`
	Previous string `json:"previous"` // "" means the packaged binary
	Starts   int    `json:"starts"`
	// Rollback is set, with its reason, before a rollback switches back, so
	// a crash in the middle finishes the rollback at the next boot.
	Rollback string `json:"rollback,omitempty"`
}

// Outcome is how the last update ended.
type Outcome struct {
	Version string `json:"version"`
	From    string `json:"from,omitempty"`
	Result  string `json:"result"` // committed, rolled_back
	Reason  string `json:"reason,omitempty"`
	// Announced is set once the outcome went out as an event; an outcome
	// of the boot check (before the daemon runs) is announced later.
	Announced bool `json:"announced,omitempty"`
}

type state struct {
	Floor string   `json:"floor,omitempty"` // highest min_version of a committed update
	Last  *Outcome `json:"last,omitempty"`
}

// Status is what the store shows in `state`, on the admin page and the API.
type Status struct {
	Current  string   `json:"current"`  // "" means the packaged binary
	Previous string   `json:"previous"` // likewise
	Pending  *Pending `json:"pending,omitempty"`
	Floor    string   `json:"floor,omitempty"`
	Last     *Outcome `json:"last,omitempty"`
}

// Store is the firmware directory of one bench. It is used by one process
// at a time: the boot check before the daemon runs, the daemon after.
type Store struct {
	dir  string
	opts Options
}

// Open returns the store at dir (created on first write).
func Open(dir string, opts *Options) *Store {
	s := &Store{dir: dir}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Target == (Target{}) {
		s.opts.Target = RunningTarget()
	}
	if s.opts.Space == nil {
		s.opts.Space = queue.StatfsSpace
	}
	if s.opts.Reserve.IsZero() {
		s.opts.Reserve = queue.DefaultMinFree
	}
	if s.opts.MaxStarts <= 0 {
		s.opts.MaxStarts = DefaultMaxStarts
	}
	if s.opts.Clock == nil {
		s.opts.Clock = clock.Real{}
	}
	return s
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(elem ...string) string {
	return filepath.Join(append([]string{s.dir}, elem...)...)
}

func (s *Store) now() time.Time { return s.opts.Clock.Now() }

func (s *Store) step(name string) {
	if s.opts.Step != nil {
		s.opts.Step(name)
	}
}

func (s *Store) emit(e Event) {
	if s.opts.Events != nil {
		s.opts.Events(e)
	}
}

// link reads a version link: the version it points at, "" when absent.
func (s *Store) link(name string) (string, error) {
	t, err := os.Readlink(s.path(name))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("firmware: read %s: %w", name, err)
	}
	dir, v := filepath.Split(t)
	if filepath.Clean(dir) != versionsDir {
		return "", fmt.Errorf("firmware: %s points outside %s/: %s", name, versionsDir, t)
	}
	return v, nil
}

func (s *Store) setLink(name, version string) error {
	if version == "" {
		return removeSync(s.path(name))
	}
	return symlinkAtomic(filepath.Join(versionsDir, version), s.path(name))
}

func readJSON[T any](path string) (*T, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &v, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, append(b, '\n'), 0o644)
}

func (s *Store) pending() (*Pending, error) { return readJSON[Pending](s.path(pendingFile)) }

func (s *Store) state() (state, error) {
	st, err := readJSON[state](s.path(stateFile))
	if err != nil || st == nil {
		return state{}, err
	}
	return *st, nil
}

// Status reads the store.
func (s *Store) Status() (Status, error) {
	var st Status
	var err error
	if st.Current, err = s.link(currentLink); err != nil {
		return st, err
	}
	if st.Previous, err = s.link(previousLink); err != nil {
		return st, err
	}
	if st.Pending, err = s.pending(); err != nil {
		return st, fmt.Errorf("firmware: %w", err)
	}
	ss, err := s.state()
	if err != nil {
		return st, fmt.Errorf("firmware: %w", err)
	}
	st.Floor, st.Last = ss.Floor, ss.Last
	return st, nil
}

// running is the version the bench runs now: current, else the packaged one.
func (s *Store) running() (string, error) {
	cur, err := s.link(currentLink)
	if err != nil || cur != "" {
		return cur, err
	}
	return s.opts.Running, nil
}

// Bundle is an update as it arrives: a signed manifest and a signed
// binary. Binary is opened twice: once to verify, once to copy (the copy
// is checked again, so a file changed in between is refused).
type Bundle struct {
	Manifest, ManifestSig []byte
	BinarySig             []byte
	Binary                func() (io.ReadCloser, error)
}

// Check verifies the manifest's signature and decides whether this bench
// may install it. It reads nothing but its arguments and the store.
func (s *Store) Check(manifest, sig []byte) (*Manifest, error) {
	if s.opts.Key == nil {
		return nil, fmt.Errorf("%w: no trusted key configured", ErrSignature)
	}
	v, err := NewVerifier(*s.opts.Key, sig, maxManifest)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	v.Write(manifest)
	if !v.Valid() {
		return nil, fmt.Errorf("manifest: %w", ErrSignature)
	}
	m, err := ParseManifest(manifest)
	if err != nil {
		return nil, err
	}
	if !m.Target.runsOn(s.opts.Target) {
		return nil, fmt.Errorf("%w: %s is for %s, this bench runs %s", ErrTarget, m.Version, m.Target, s.opts.Target)
	}
	newV, _ := ParseVersion(m.Version)
	st, err := s.state()
	if err != nil {
		return nil, fmt.Errorf("firmware: %w", err)
	}
	if st.Floor != "" {
		if floor, err := ParseVersion(st.Floor); err == nil && newV.Compare(floor) < 0 {
			return nil, fmt.Errorf("%w: %s is below %s, the min_version of an installed update", ErrBelowMin, m.Version, st.Floor)
		}
	}
	cur, err := s.running()
	if err != nil {
		return nil, err
	}
	if cv, err := ParseVersion(cur); err == nil && newV.Compare(cv) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrSameVersion, m.Version)
	}
	p, err := s.pending()
	if err != nil {
		return nil, fmt.Errorf("firmware: %w", err)
	}
	if p != nil {
		return nil, fmt.Errorf("%w: %s", ErrPending, p.Version)
	}
	return m, nil
}

// verifyBinary reads r whole and checks size, sha256 and signature; w,
// when set, receives the bytes as they pass.
func (s *Store) verifyBinary(m *Manifest, sig []byte, r io.Reader, w io.Writer) error {
	v, err := NewVerifier(*s.opts.Key, sig, m.Size)
	if err != nil {
		return fmt.Errorf("binary: %w", err)
	}
	h := sha256.New()
	dst := io.MultiWriter(v, h)
	if w != nil {
		dst = io.MultiWriter(v, h, w)
	}
	n, err := io.Copy(dst, io.LimitReader(r, m.Size+1))
	if err != nil {
		return fmt.Errorf("firmware: read binary: %w", err)
	}
	if n != m.Size {
		return fmt.Errorf("%w: %d bytes, manifest says %d", ErrDigest, n, m.Size)
	}
	if !strings.EqualFold(hex.EncodeToString(h.Sum(nil)), m.SHA256) {
		return fmt.Errorf("%w: sha256 differs", ErrDigest)
	}
	if !v.Valid() {
		return fmt.Errorf("binary: %w", ErrSignature)
	}
	return nil
}

// checkSpace refuses an update that would leave less than the reserve.
func (s *Store) checkSpace(size int64) error {
	dir := s.dir
	for {
		if _, err := os.Stat(dir); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	sp, err := s.opts.Space(dir)
	if errors.Is(err, errors.ErrUnsupported) {
		return nil // no statfs here: the write itself decides
	}
	if err != nil {
		return fmt.Errorf("firmware: free space: %w", err)
	}
	need := uint64(size) + s.opts.Reserve.Of(sp.Total)
	if sp.Free < need {
		return fmt.Errorf("%w: %s free, the update needs %s plus a reserve of %s",
			ErrNoSpace, queue.FormatBytes(sp.Free), queue.FormatBytes(uint64(size)), queue.FormatBytes(need-uint64(size)))
	}
	return nil
}

// Result is a staged and switched update; the bench must restart into it.
type Result struct {
	Version, Previous string
}

// Apply verifies b, stages it and switches to it, leaving it pending:
// the caller restarts the bench, and the new version commits itself once
// healthy (Gate) or is rolled back. Every refusal happens before anything
// is written.
func (s *Store) Apply(ctx context.Context, b Bundle) (Result, error) {
	m, err := s.Check(b.Manifest, b.ManifestSig)
	if err != nil {
		s.emit(Event{Type: "refused", Reason: err.Error()})
		return Result{}, err
	}
	if err := s.verifyOpen(m, b, nil); err != nil {
		s.emit(Event{Type: "refused", Version: m.Version, Reason: err.Error()})
		return Result{}, err
	}
	if err := s.checkSpace(m.Size); err != nil {
		s.emit(Event{Type: "refused", Version: m.Version, Reason: err.Error()})
		return Result{}, err
	}
	s.emit(Event{Type: "verified", Version: m.Version})
	s.step("verified")
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if err := s.stage(m, b); err != nil {
		return Result{}, err
	}
	s.emit(Event{Type: "staged", Version: m.Version})
	return s.switchTo(m.Version)
}

func (s *Store) verifyOpen(m *Manifest, b Bundle, w io.Writer) error {
	rc, err := b.Binary()
	if err != nil {
		return fmt.Errorf("firmware: open binary: %w", err)
	}
	defer rc.Close()
	return s.verifyBinary(m, b.BinarySig, rc, w)
}

// stage writes versions/<version> through staging/<version>.
func (s *Store) stage(m *Manifest, b Bundle) error {
	staging := s.path(stagingDir, m.Version)
	if err := os.RemoveAll(staging); err != nil {
		return fmt.Errorf("firmware: stage: %w", err)
	}
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return fmt.Errorf("firmware: stage: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(staging, BinaryName), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return fmt.Errorf("firmware: stage: %w", err)
	}
	// Verified again while copying: the source may have changed since.
	err = s.verifyOpen(m, b, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	for name, data := range map[string][]byte{
		manifestName:             b.Manifest,
		manifestName + SigSuffix: b.ManifestSig,
		BinaryName + SigSuffix:   b.BinarySig,
	} {
		if err == nil {
			err = writeAtomic(filepath.Join(staging, name), data, 0o644)
		}
	}
	if err == nil {
		err = syncDir(staging)
	}
	if err != nil {
		os.RemoveAll(staging)
		return fmt.Errorf("firmware: stage %s: %w", m.Version, err)
	}
	s.step("staged")
	final := s.path(versionsDir, m.Version)
	if err := os.MkdirAll(s.path(versionsDir), 0o755); err != nil {
		return fmt.Errorf("firmware: stage: %w", err)
	}
	// A leftover of an earlier install of the same version (neither current
	// nor previous: Check refused the current one) is replaced.
	if err := os.RemoveAll(final); err != nil {
		return fmt.Errorf("firmware: stage: %w", err)
	}
	if err := os.Rename(staging, final); err != nil {
		return fmt.Errorf("firmware: stage: %w", err)
	}
	if err := syncDir(s.path(versionsDir)); err != nil {
		return err
	}
	if err := syncDir(s.path(stagingDir)); err != nil {
		return err
	}
	s.step("installed")
	return nil
}

// switchTo makes version current and pending, remembering what ran
// before as previous. The pending marker is written before the switch:
// a crash between the two leaves a marker for a version that is not
// current, which the boot check discards.
func (s *Store) switchTo(version string) (Result, error) {
	old, err := s.link(currentLink)
	if err != nil {
		return Result{}, err
	}
	if err := s.setLink(previousLink, old); err != nil {
		return Result{}, fmt.Errorf("firmware: switch: %w", err)
	}
	s.step("previous")
	if err := writeJSON(s.path(pendingFile), Pending{Version: version, Previous: old}); err != nil {
		return Result{}, fmt.Errorf("firmware: switch: %w", err)
	}
	s.step("pending")
	if err := s.setLink(currentLink, version); err != nil {
		return Result{}, fmt.Errorf("firmware: switch: %w", err)
	}
	s.step("switched")
	from := old
	if from == "" {
		from = s.opts.Running
	}
	s.emit(Event{Type: "switched", Version: version, From: from})
	return Result{Version: version, Previous: old}, nil
}

// validVersion reports whether versions/<v> holds a binary that matches
// its manifest.
func (s *Store) validVersion(v string) error {
	dir := s.path(versionsDir, v)
	mb, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return err
	}
	m, err := ParseManifest(mb)
	if err != nil {
		return err
	}
	if m.Version != v {
		return fmt.Errorf("manifest names %s", m.Version)
	}
	f, err := os.Open(filepath.Join(dir, BinaryName))
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if err := hashExactly(h, f, m.Size); err != nil {
		return err
	}
	if !strings.EqualFold(hex.EncodeToString(h.Sum(nil)), m.SHA256) {
		return ErrDigest
	}
	return nil
}

func hashExactly(h hash.Hash, r io.Reader, size int64) error {
	n, err := io.Copy(h, io.LimitReader(r, size+1))
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("%w: %d bytes, manifest says %d", ErrDigest, n, size)
	}
	return nil
}

// Boot is what the bench starts.
type Boot struct {
	Version string // "" means the packaged binary
	Binary  string // absolute path; "" means the packaged binary
	Pending bool   // Version must report healthy (Gate) before it is kept
	Starts  int    // starts of the pending version, this one included
}

// BootCheck runs before every start of the bench (packbenchd's own start
// path, before anything else). It finishes what a crash interrupted,
// counts the starts of a pending version and rolls it back after
// MaxStarts starts without a healthy report, and falls back when the
// current binary is damaged. It needs no clock.
func (s *Store) BootCheck() (Boot, error) {
	// Leftovers of an interrupted Apply; a partial download stays to be
	// resumed.
	if entries, err := os.ReadDir(s.path(stagingDir)); err == nil {
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".part") {
				os.RemoveAll(s.path(stagingDir, e.Name()))
			}
		}
	}
	for _, l := range []string{currentLink, previousLink, pendingFile, stateFile} {
		os.Remove(s.path(l + ".tmp"))
	}
	cur, err := s.link(currentLink)
	if err != nil {
		return Boot{}, err
	}
	p, err := s.pending()
	if err != nil {
		// An unreadable marker cannot be trusted to name anything: the
		// version it guarded is not known to be healthy, so go back.
		p = &Pending{Version: cur, Rollback: "unreadable pending marker"}
		if prev, err := s.link(previousLink); err == nil {
			p.Previous = prev
		}
	}
	if p != nil && p.Version != cur {
		if p.Rollback != "" && p.Previous == cur {
			// A rollback that switched back and then crashed: finish it.
			if err := s.finishRollback(p); err != nil {
				return Boot{}, err
			}
		} else if err := removeSync(s.path(pendingFile)); err != nil {
			// The switch never happened: the marker is void.
			return Boot{}, fmt.Errorf("firmware: boot check: %w", err)
		}
		p = nil
	}
	if p != nil {
		if p.Rollback == "" {
			p.Starts++
			if p.Starts > s.opts.MaxStarts {
				p.Rollback = fmt.Sprintf("started %d times without reporting healthy", p.Starts-1)
			} else if err := writeJSON(s.path(pendingFile), p); err != nil {
				return Boot{}, fmt.Errorf("firmware: boot check: %w", err)
			}
		}
		if p.Rollback != "" {
			if err := s.rollback(p); err != nil {
				return Boot{}, err
			}
			cur, p = p.Previous, nil
		}
	}
	if cur != "" {
		if err := s.validVersion(cur); err != nil {
			// A damaged binary never runs: fall back to previous, else the
			// packaged binary, and say so.
			bad := cur
			cur, _ = s.link(previousLink)
			if cur != "" && s.validVersion(cur) != nil {
				cur = ""
			}
			if err := s.setLink(currentLink, cur); err != nil {
				return Boot{}, fmt.Errorf("firmware: boot check: %w", err)
			}
			if p != nil {
				removeSync(s.path(pendingFile))
				p = nil
			}
			s.record(Outcome{Version: bad, Result: "rolled_back", Reason: "damaged: " + err.Error()}, "")
		}
	}
	b := Boot{Version: cur}
	if cur != "" {
		b.Binary = s.path(currentLink, BinaryName)
		if abs, err := filepath.Abs(b.Binary); err == nil {
			b.Binary = abs
		}
	}
	if p != nil {
		b.Pending, b.Starts = true, p.Starts
	}
	return b, nil
}

func (s *Store) record(o Outcome, floor string) error {
	st, err := s.state()
	if err != nil {
		st = state{} // a damaged record is replaced
	}
	o.Announced = s.opts.Events != nil
	st.Last = &o
	if floor != "" {
		fv, err1 := ParseVersion(floor)
		old, err2 := ParseVersion(st.Floor)
		if err1 == nil && (err2 != nil || fv.Compare(old) > 0) {
			st.Floor = floor
		}
	}
	if err := writeJSON(s.path(stateFile), st); err != nil {
		return fmt.Errorf("firmware: record outcome: %w", err)
	}
	return nil
}

// Rollback abandons the pending version now, with reason. The bench must
// restart to run the previous one.
func (s *Store) Rollback(reason string) error {
	p, err := s.pending()
	if err != nil {
		return fmt.Errorf("firmware: rollback: %w", err)
	}
	if p == nil {
		return fmt.Errorf("firmware: rollback: nothing pending")
	}
	p.Rollback = reason
	return s.rollback(p)
}

func (s *Store) rollback(p *Pending) error {
	// The reason is written first, so a crash below finishes the rollback.
	if err := writeJSON(s.path(pendingFile), p); err != nil {
		return fmt.Errorf("firmware: rollback: %w", err)
	}
	s.step("rollback-marked")
	if err := s.setLink(currentLink, p.Previous); err != nil {
		return fmt.Errorf("firmware: rollback: %w", err)
	}
	s.step("rollback-switched")
	return s.finishRollback(p)
}

func (s *Store) finishRollback(p *Pending) error {
	if err := s.record(Outcome{Version: p.Version, From: p.Previous, Result: "rolled_back", Reason: p.Rollback}, ""); err != nil {
		return err
	}
	if err := removeSync(s.path(pendingFile)); err != nil {
		return fmt.Errorf("firmware: rollback: %w", err)
	}
	s.emit(Event{Type: "rolled_back", Version: p.Version, From: p.Previous, Reason: p.Rollback, Starts: p.Starts})
	return nil
}

// MarkGood commits version if it is the pending one: it stays, its
// min_version becomes the floor, and versions other than current and
// previous are removed. It reports whether it committed anything.
func (s *Store) MarkGood(version string) (bool, error) {
	p, err := s.pending()
	if err != nil {
		return false, fmt.Errorf("firmware: commit: %w", err)
	}
	if p == nil || p.Version != version || p.Rollback != "" {
		return false, nil
	}
	var floor string
	if mb, err := os.ReadFile(s.path(versionsDir, version, manifestName)); err == nil {
		if m, err := ParseManifest(mb); err == nil {
			floor = m.MinVersion
		}
	}
	if err := s.record(Outcome{Version: version, From: p.Previous, Result: "committed"}, floor); err != nil {
		return false, err
	}
	if err := removeSync(s.path(pendingFile)); err != nil {
		return false, fmt.Errorf("firmware: commit: %w", err)
	}
	s.emit(Event{Type: "committed", Version: version, From: p.Previous})
	s.prune()
	return true, nil
}

// prune removes installed versions that neither link names.
func (s *Store) prune() {
	keep := map[string]bool{}
	for _, l := range []string{currentLink, previousLink} {
		if v, err := s.link(l); err == nil && v != "" {
			keep[v] = true
		}
	}
	entries, _ := os.ReadDir(s.path(versionsDir))
	for _, e := range entries {
		if !keep[e.Name()] {
			os.RemoveAll(s.path(versionsDir, e.Name()))
		}
	}
}

// Announce returns the last outcome if no event told it yet (the boot
// check rolled back before the daemon ran), and marks it told.
func (s *Store) Announce() (*Outcome, error) {
	st, err := s.state()
	if err != nil || st.Last == nil || st.Last.Announced {
		return nil, err
	}
	o := *st.Last
	st.Last.Announced = true
	if err := writeJSON(s.path(stateFile), st); err != nil {
		return nil, fmt.Errorf("firmware: announce: %w", err)
	}
	return &o, nil
}
