// Package queue owns the bench's single bbolt file: durable print jobs with
// their state history and idempotency keys, the outbox of events, and the
// typed records other packages keep (orders, shipments, counters).
//
// Everything that must survive a power cut lives in this one file, written
// with fsync on every commit (never NoSync), except the printer workers'
// write-ahead marks, which live beside it in <file>.marks (see below). A second process that opens the
// file gets [ErrLocked] after [Options.Timeout] instead of hanging: Open
// takes an exclusive flock on <file>.lock (every opener, the packbench CLI
// included) and holds it until Close, whatever compaction does to the file.
//
// # Jobs
//
// A job moves through these states:
//
//	queued → sending → sent → printed
//	            ↘ failed, uncertain, back to queued (Requeue)
//	queued, failed, uncertain → cancelled
//	failed, uncertain, sent → queued (Retry, operator)
//	failed, uncertain, sent → printed (MarkPrinted, operator)
//
// Each printer has a FIFO keyed by the job id (an 8-byte big-endian
// sequence), so a job that goes back to queued keeps its place: a Requeue
// (paper out) puts it back at the front. A job found in sending when the
// file is opened was being sent when the bench stopped; it becomes
// uncertain: never reprinted silently, never lost. The exception is a job
// taken with [DB.ClaimUnsent] whose worker had not yet recorded
// [DB.Transmitting], which it does before the first byte (write-ahead): no
// byte of it left, so it goes back to the front of its queue, "never sent".
//
// That mark is on the path of every label, so it is not a bbolt commit
// (which waits for the commit in flight and pays two fsyncs): it is one
// 32-byte slot written in place in <file>.marks, a ring of fixed size, and
// one fdatasync. A claim is numbered ([Job.Claim], from a durable counter),
// and a slot names job and claim, so an old slot never matches a later
// claim; Open reads the slots before it recovers. A slot is written over
// only when its mark is no longer needed, or after that mark was made
// durable in bbolt.
//
// An idle worker does not need a commit of its own to claim either: it
// registers a [Handoff], and the commit that next queues a job for its
// printer claims that job for it in the same transaction.
//
// Enqueue requires an idempotency key; a second Enqueue with the same key
// returns the existing job, across restarts, until the job has been
// finished for longer than [Options.Retention].
//
// # Outbox
//
// Every state change appends an [Event] in the same transaction. Consumers
// (MQTT, webhooks) each keep a cursor: [DB.Events] reads after it, [DB.Ack]
// moves it. Delivery is at-least-once; event ids are a monotonic sequence
// that survives compaction, so receivers de-duplicate by id.
//
// # Records
//
// Other packages keep opaque records under named kinds (orders, shipments,
// stock, webhooks) and durable counters in the same file, and can write them
// together with jobs and events in one transaction through [DB.Update].
//
// # Housekeeping
//
// [DB.Housekeep] deletes finished jobs past retention, events every
// consumer acknowledged (or past their own retention), and compacts the file
// (copy, fsync, atomic rename) when it is much larger than its live data.
//
// Compaction runs while the bench prints, not only at start. bbolt reuses
// free pages, so it is rare (the file must be [Options.CompactRatio] times
// its live data), but the file is mostly live data (about 0.9 GB at the
// default retention): copying it on an SD card takes minutes, longer than
// systemd waits for a start, and a bench that runs for months would never
// compact. So [DB.Compact] copies with no lock held: from its start every
// write notes the keys it changes; the copy reads the live file in short
// read transactions (a long bbolt reader would make a writer that must grow
// the memory map wait for it) and writes the new file in 4 MB commits. Then,
// under the write lock for a moment (as long as copying the keys written
// during the copy takes: milliseconds), it copies the noted keys again as
// they are now, renames the new file over the old and syncs the directory.
// A request waits for that moment only (BenchmarkEnqueueDuringCompaction).
//
// The file is never unlocked: besides <file>.lock, the new file is opened
// (taking bbolt's lock) before it is renamed into place and the old one is
// closed after. A copy that fails or is cancelled is dropped and the old
// file stays in use. If the directory cannot be synced after the rename, a
// later write might not survive a power cut, so the DB breaks for good:
// [DB.Fatal] is closed, [DB.Err] says why and every call returns
// [ErrBroken]; the process should stop (packbenchd does), and the next Open
// finds a complete file, old or new.
//
// # Free space
//
// A full disk must not fail a commit halfway through the bench's work, so
// new work is refused before it is: while the data file's filesystem has
// less free space than [Options.MinFree], a new job is refused with
// [ErrDiskFull] (a [*DiskFullError] saying how much is free), and the
// station refuses new orders and labels the same way through
// [Tx.CheckSpace]. Work already accepted goes on (claims, state changes,
// acknowledgements, housekeeping). [DB.DiskSpace] also reports when free
// space is under [Options.WarnFree], for the health report.
//
// The package is pure: it returns errors and never logs.
package queue
