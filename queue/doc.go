// Package queue owns the bench's single bbolt file: durable print jobs with
// their state history and idempotency keys, the outbox of events, and the
// typed records other packages keep (orders, shipments, counters).
//
// The package is pure: it returns errors and never logs.
package queue
