// Package queue owns the bench's single bbolt file: durable print jobs with
// their state history and idempotency keys, the outbox of events, and the
// typed records other packages keep (orders, shipments, counters).
//
// Everything that must survive a power cut lives in this one file, written
// with fsync on every commit (never NoSync). A second process that opens the
// file gets [ErrLocked] after [Options.Timeout] instead of hanging.
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
// uncertain: never reprinted silently, never lost.
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
// The package is pure: it returns errors and never logs.
package queue
