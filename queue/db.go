package queue

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/packbench/packbench/internal/clock"
)

// SchemaVersion is the layout this package writes. Files with an older
// version are migrated on Open; newer ones are refused (ErrSchemaTooNew).
const SchemaVersion = 1

// Defaults for Options.
const (
	DefaultTimeout        = time.Second
	DefaultRetention      = 30 * 24 * time.Hour
	DefaultEventRetention = 30 * 24 * time.Hour
	DefaultCompactRatio   = 2.0
	DefaultCompactMin     = 8 << 20
)

// Top-level buckets.
const (
	bMeta      = "meta"      // schema version
	bJobs      = "jobs"      // job id → job JSON (without payload)
	bPayloads  = "payloads"  // job id → payload bytes
	bIdem      = "idem"      // idempotency key → job id
	bFIFO      = "fifo"      // printer → (job id → "") of queued jobs
	bByState   = "state"     // state → (job id → "")
	bDone      = "done"      // finishedAt(8) ‖ job id(8) → "" for retention
	bEvents    = "events"    // event id → event JSON
	bConsumers = "consumers" // consumer name → last acknowledged event id
	bCounters  = "counters"  // counter name → uint64
	bRecords   = "records"   // kind → (key → value)
)

func topBuckets() []string {
	return []string{bMeta, bJobs, bPayloads, bIdem, bFIFO, bByState, bDone, bEvents, bConsumers, bCounters, bRecords}
}

// migrations[v] upgrades a file from schema v to v+1, inside the open
// transaction. Version 0 is a new, empty file.
func migrations() []func(tx *bolt.Tx) error {
	return []func(tx *bolt.Tx) error{
		0: func(tx *bolt.Tx) error {
			for _, name := range topBuckets() {
				if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
					return fmt.Errorf("create bucket %s: %w", name, err)
				}
			}
			return nil
		},
	}
}

// Options tune a DB; the zero value (or nil) means the defaults.
type Options struct {
	// Timeout for taking the file lock; 0 means DefaultTimeout.
	Timeout time.Duration
	// Clock stamps jobs, transitions and events and dates retention;
	// nil means clock.Real{}.
	Clock clock.Clock
	// Retention keeps finished jobs and their idempotency keys this long
	// after they finished; 0 means DefaultRetention.
	Retention time.Duration
	// EventRetention drops events no consumer acknowledged after this
	// long; 0 means DefaultEventRetention.
	EventRetention time.Duration
	// MaxPayload caps a job's payload in bytes; 0 means DefaultMaxPayload.
	MaxPayload int
	// Housekeep compacts when the file is larger than CompactRatio times
	// its live data and larger than CompactMin bytes.
	CompactRatio float64
	CompactMin   int64
	// DiskSpace measures the filesystem holding the data file for the
	// free-space check; nil means statfs(2) (tests inject a nearly full
	// disk). MinFree is the floor under which new jobs (and, through
	// CheckSpace, the station's orders and labels) are refused with
	// ErrDiskFull; WarnFree the level under which DiskSpace reports the
	// disk low. Zero means DefaultMinFree and DefaultWarnFree.
	DiskSpace SpaceFunc
	MinFree   Floor
	WarnFree  Floor
	// Consumers are registered on Open (see AddConsumer).
	Consumers []string
	// CompactHook, for tests, is called at named steps of a compaction:
	// "copied" (the new file is written and synced; writers still run) and
	// "renamed" (under the write lock, the copy has replaced the file; an
	// error here counts as the directory sync failing, which breaks the
	// DB for good). A non-nil error is treated as that step failing.
	CompactHook func(step string) error

	// markSlots is the size of the marks log's ring (tests make it small);
	// 0 means defaultMarkSlots.
	markSlots int
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.Timeout <= 0 {
		r.Timeout = DefaultTimeout
	}
	if r.Clock == nil {
		r.Clock = clock.Real{}
	}
	if r.Retention <= 0 {
		r.Retention = DefaultRetention
	}
	if r.EventRetention <= 0 {
		r.EventRetention = DefaultEventRetention
	}
	if r.MaxPayload <= 0 {
		r.MaxPayload = DefaultMaxPayload
	}
	if r.CompactRatio <= 1 {
		r.CompactRatio = DefaultCompactRatio
	}
	if r.CompactMin <= 0 {
		r.CompactMin = DefaultCompactMin
	}
	if r.DiskSpace == nil {
		r.DiskSpace = statfsSpace
	}
	if r.MinFree.IsZero() {
		r.MinFree = DefaultMinFree
	}
	if r.WarnFree.IsZero() {
		r.WarnFree = DefaultWarnFree
	}
	if r.markSlots <= 0 {
		r.markSlots = defaultMarkSlots
	}
	return r
}

// DB is the open data file. It is safe for concurrent use.
type DB struct {
	path string
	opts Options

	// lock is the exclusive flock on path+".lock", held from Open to
	// Close: bbolt's own lock follows the file, which compaction replaces.
	lock *os.File

	// mu is held for reading by every operation and for writing by
	// Close, by the moment Compact swaps files and when it starts
	// noting changes. bolt is nil once closed or broken (fatalErr).
	mu       sync.RWMutex
	bolt     *bolt.DB
	changes  *changeLog // non-nil while a compaction copies
	fatalErr error      // under mu and nmu: why the DB broke

	compactMu sync.Mutex    // one compaction at a time
	closing   chan struct{} // closed when Close starts: a copy stops
	closeOnce sync.Once
	fatal     chan struct{} // closed when the DB breaks

	recovered []JobID     // sending → uncertain at Open
	requeued  []JobID     // sending but never marked → queued at Open
	group     groupCommit // Enqueue and Batch calls in flight share commits
	marks     *markLog    // the printer workers' write-ahead marks (marks.go)

	nmu            sync.Mutex
	handoffs       map[string]*Handoff // idle workers by printer (handoff.go)
	handoffSettled *sync.Cond          // on nmu: a claim for a Handoff committed or rolled back
	waiters        map[string]chan struct{}
	eventWait      chan struct{}
	closed         bool // under nmu: Wait hands out closed channels
}

// Open opens (creating it and its directory if needed) the data file at
// path, migrates it, recovers jobs that were being sent when it was last
// closed, and registers opts.Consumers. If another process holds the file,
// Open fails with ErrLocked after opts.Timeout.
func Open(path string, opts *Options) (*DB, error) {
	d := &DB{
		path: path, opts: opts.withDefaults(), waiters: map[string]chan struct{}{}, eventWait: make(chan struct{}),
		closing: make(chan struct{}), fatal: make(chan struct{}), handoffs: map[string]*Handoff{},
	}
	d.handoffSettled = sync.NewCond(&d.nmu)
	for _, c := range d.opts.Consumers {
		if err := validName("consumer", c, MaxKeyLen, false); err != nil {
			return nil, fmt.Errorf("queue: open %s: %w", path, err)
		}
	}
	for name, f := range map[string]Floor{"MinFree": d.opts.MinFree, "WarnFree": d.opts.WarnFree} {
		if err := f.validate(name); err != nil {
			return nil, fmt.Errorf("queue: open %s: %w", path, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("queue: open %s: %w", path, err)
	}
	lock, err := lockFile(path+".lock", d.opts.Timeout)
	if errors.Is(err, ErrLocked) {
		return nil, lockedErr(path)
	}
	if err != nil {
		return nil, fmt.Errorf("queue: open %s: %w", path, err)
	}
	d.lock = lock
	if err := createFile(path, d.opts.Timeout); err != nil {
		lock.Close()
		return nil, fmt.Errorf("queue: open %s: %w", path, err)
	}
	if d.bolt, err = d.openBolt(path); err != nil {
		lock.Close()
		return nil, err
	}
	// A compaction that died before its rename leaves its copy behind.
	// We hold the lock now, so nobody else is compacting.
	_ = os.Remove(path + ".compact")
	_ = os.Remove(path + ".init")
	_ = os.Remove(path + ".marks.init")
	marks, marksSize, err := readMarks(path + ".marks")
	if err != nil {
		d.bolt.Close()
		lock.Close()
		return nil, fmt.Errorf("queue: open %s: %w", path, err)
	}
	err = d.bolt.Update(func(btx *bolt.Tx) error {
		if err := migrate(btx); err != nil {
			return err
		}
		tx := d.newTx(btx)
		var err error
		if d.recovered, d.requeued, err = tx.recoverSending(marks); err != nil {
			return err
		}
		for _, c := range d.opts.Consumers {
			if err := tx.addConsumer(c); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		// After the recovery commit: the marks it used are spent.
		d.marks, err = openMarkLog(path+".marks", d.opts.markSlots, marksSize)
	}
	if err != nil {
		d.bolt.Close()
		lock.Close()
		return nil, fmt.Errorf("queue: open %s: %w", path, err)
	}
	return d, nil
}

func lockedErr(path string) error {
	return fmt.Errorf("queue: open %s: %w (probably packbenchd; stop it or go through its API)", path, ErrLocked)
}

// openBolt opens the bbolt file name (path, or a compaction's copy).
func (d *DB) openBolt(name string) (*bolt.DB, error) {
	b, err := bolt.Open(name, 0o600, &bolt.Options{Timeout: d.opts.Timeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, lockedErr(name)
	}
	if err != nil {
		return nil, fmt.Errorf("queue: open %s: %w", name, err)
	}
	return b, nil
}

// createFile initialises a new file under a temporary name and links it
// into place, so a power cut during initialisation never leaves a half
// written file at path.
func createFile(path string, timeout time.Duration) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	tmp := path + ".init"
	_ = os.Remove(tmp)
	b, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: timeout})
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	err = b.Update(migrate)
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncFile(tmp)
	}
	if err == nil {
		// Link, not rename: if another process created path meanwhile,
		// keep its file. Filesystems without hard links get a rename.
		if lerr := os.Link(tmp, path); lerr != nil && !errors.Is(lerr, os.ErrExist) {
			err = os.Rename(tmp, path)
		}
	}
	_ = os.Remove(tmp)
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	return nil
}

func migrate(btx *bolt.Tx) error {
	var v uint64
	if meta := btx.Bucket([]byte(bMeta)); meta != nil {
		if b := meta.Get([]byte("schema")); len(b) == 8 {
			v = binary.BigEndian.Uint64(b)
		}
	}
	if v > SchemaVersion {
		return fmt.Errorf("%w: file has schema %d, this program knows %d", ErrSchemaTooNew, v, SchemaVersion)
	}
	steps := migrations()
	for ; v < SchemaVersion; v++ {
		if err := steps[v](btx); err != nil {
			return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
		}
	}
	return btx.Bucket([]byte(bMeta)).Put([]byte("schema"), u64(SchemaVersion))
}

func syncFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error { return syncFile(dir) }

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

// Path is the data file's path.
func (d *DB) Path() string { return d.path }

// Recovered lists the jobs Open found in sending and moved to uncertain.
func (d *DB) Recovered() []JobID { return append([]JobID(nil), d.recovered...) }

// Requeued lists the jobs Open found in sending but never transmitted
// (ClaimUnsent without Transmitting) and put back in their queues.
func (d *DB) Requeued() []JobID { return append([]JobID(nil), d.requeued...) }

// Close closes the file and lets go of its lock (also after the DB broke).
// Later calls return ErrClosed.
func (d *DB) Close() error {
	d.closeOnce.Do(func() { close(d.closing) }) // a compaction's copy stops
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lock == nil {
		return ErrClosed
	}
	var err error
	if d.bolt != nil {
		err = d.bolt.Close()
		d.bolt = nil
	}
	if merr := d.marks.close(); err == nil {
		err = merr
	}
	d.lock.Close()
	d.lock = nil
	d.wakeAll()
	if err != nil {
		return fmt.Errorf("queue: close %s: %w", d.path, err)
	}
	return nil
}

// wakeAll wakes every waiter: their next call returns ErrClosed or the
// fatal error.
func (d *DB) wakeAll() {
	d.nmu.Lock()
	defer d.nmu.Unlock()
	if d.closed {
		return
	}
	d.closed = true
	for p, ch := range d.waiters {
		close(ch)
		delete(d.waiters, p)
	}
	close(d.eventWait)
}

// Fatal returns a channel closed when the DB broke for good: a compaction
// replaced the file but could not make that durable, so nothing more is
// written (a later write could be lost at the next power cut). Err says
// why. The process should stop and be restarted: Open then finds a
// complete file, the old or the new one.
func (d *DB) Fatal() <-chan struct{} { return d.fatal }

// Err is the error that broke the DB (see Fatal), or nil.
func (d *DB) Err() error {
	d.nmu.Lock()
	defer d.nmu.Unlock()
	return d.fatalErr
}

// breakDB marks the DB broken with err; d.mu is held for writing.
func (d *DB) breakDB(err error) {
	d.nmu.Lock()
	d.fatalErr = err
	d.nmu.Unlock()
	d.bolt = nil
	close(d.fatal)
	d.wakeAll()
}

// gone is the error for a call after Close or after the DB broke; d.mu
// is held.
func (d *DB) gone() error {
	if d.fatalErr != nil {
		return fmt.Errorf("%w: %w", ErrBroken, d.fatalErr)
	}
	return ErrClosed
}

// Update runs fn in one read-write transaction, committed with fsync when
// fn returns nil and rolled back otherwise. Records, counters, events and
// jobs written through tx land together or not at all.
func (d *DB) Update(fn func(tx *Tx) error) error {
	return d.update(batchNone, fn)
}

// Batch is Update for concurrent callers: calls that arrive while another
// Batch or Enqueue commits share the next commit (groupCommit), so many
// callers share one fsync; a lone caller commits at once, as Update does,
// and nobody waits on a timer. Every nil return is on disk.
// fn may run more than once (a batch that fails is rerun without the
// failing function), so it must touch only tx and set, not accumulate, its
// results; side effects belong after Batch returns. An error from fn costs
// the other callers a rollback and a rerun: check inputs before.
func (d *DB) Batch(fn func(tx *Tx) error) error {
	return d.update(batchShared, fn)
}

// BatchUrgent is Batch for a call something waits on byte by byte (a
// printer worker's claim of the job it is about to send): it shares its commit only with other
// urgent calls, ahead of the Batch calls waiting, so it waits for the
// commit in flight and a small one, not for a large group of others.
func (d *DB) BatchUrgent(fn func(tx *Tx) error) error {
	return d.update(batchUrgent, fn)
}

// How update commits.
const (
	batchNone   = iota // bbolt's Update: a commit of its own
	batchShared        // groupCommit
	batchUrgent        // groupCommit, ahead of the shared calls
)

// View runs fn in a read-only transaction.
func (d *DB) View(fn func(tx *Tx) error) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.bolt == nil {
		return d.gone()
	}
	return d.bolt.View(func(btx *bolt.Tx) error { return fn(d.newTx(btx)) })
}

// update runs fn in a write transaction; batch shares the commit with
// concurrent callers (fn may then run more than once and must only touch tx).
func (d *DB) update(batch int, fn func(tx *Tx) error) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.bolt == nil {
		return d.gone()
	}
	var done *Tx
	log := d.changes
	run := func(btx *bolt.Tx) error {
		tx := d.newTx(btx)
		tx.log = log
		if err := fn(tx); err != nil {
			return err
		}
		done = tx
		return nil
	}
	var err error
	if batch != batchNone {
		err = d.group.run(d.boltUpdate, run, batch == batchUrgent)
	} else {
		err = d.boltUpdate(run)
	}
	if err != nil {
		return err
	}
	d.notify(done)
	return nil
}

func ctxErr(ctx context.Context) error {
	if ctx == nil {
		return nil
	}
	return ctx.Err()
}

// Wait returns a channel closed when a job next becomes queued for
// printer, or when the DB is closed. Take it before Claim so nothing slips between the two:
//
//	ch := q.Wait(p)
//	job, err := q.Claim(ctx, p)
//	if errors.Is(err, queue.ErrEmpty) { select { case <-ch: case <-ctx.Done(): } }
func (d *DB) Wait(printer string) <-chan struct{} {
	d.nmu.Lock()
	defer d.nmu.Unlock()
	if d.closed {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	ch, ok := d.waiters[printer]
	if !ok {
		ch = make(chan struct{})
		d.waiters[printer] = ch
	}
	return ch
}

// WaitEvents returns a channel closed when the next event is committed
// (or the DB is closed).
// Take it before Events, as with Wait.
func (d *DB) WaitEvents() <-chan struct{} {
	d.nmu.Lock()
	defer d.nmu.Unlock()
	return d.eventWait
}

func (d *DB) notify(tx *Tx) {
	if tx == nil || (len(tx.queued) == 0 && !tx.evented) {
		return
	}
	d.nmu.Lock()
	defer d.nmu.Unlock()
	if d.closed {
		return
	}
	for p := range tx.queued {
		if ch, ok := d.waiters[p]; ok {
			close(ch)
			delete(d.waiters, p)
		}
	}
	if tx.evented {
		close(d.eventWait)
		d.eventWait = make(chan struct{})
	}
}

// Tx is a read-write (Update) or read-only (View) transaction. It is valid
// only inside the function it was passed to.
type Tx struct {
	d       *DB
	btx     *bolt.Tx
	log     *changeLog // notes writes while a compaction copies
	now     time.Time
	queued  map[string]bool // printers that got a queued job
	evented bool
}

func (d *DB) newTx(btx *bolt.Tx) *Tx {
	return &Tx{d: d, btx: btx, now: d.opts.Clock.Now().UTC()}
}

func (tx *Tx) bucket(name string) *bucket {
	b := tx.btx.Bucket([]byte(name))
	if appendOnly(name) && tx.btx.Writable() {
		b.FillPercent = appendFill
	}
	return &bucket{b: b, log: tx.log, path: []string{name}}
}

// appendFill packs pages of buckets whose keys only grow (sequences):
// bbolt's default of half-full pages would double the file for nothing.
const appendFill = 0.9

func appendOnly(name string) bool {
	return name == bJobs || name == bPayloads || name == bEvents || name == bDone
}

func (tx *Tx) writable() error {
	if !tx.btx.Writable() {
		return fmt.Errorf("%w: read-only transaction (use Update)", ErrInvalid)
	}
	return nil
}
