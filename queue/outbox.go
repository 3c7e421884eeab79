package queue

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Event types the queue writes itself. Other packages use their own
// ("order.updated"); the "job." prefix is reserved.
const (
	EventJobQueued = "job.queued" // a job was enqueued (To is queued)
	EventJobState  = "job.state"  // a job changed state (From → To)
)

// Event is one outbox entry. ID is a monotonic sequence that never repeats
// within a file, compaction included: receivers de-duplicate by it.
type Event struct {
	ID      uint64          `json:"id"`
	Type    string          `json:"type"`
	Time    time.Time       `json:"time"`
	JobID   JobID           `json:"job_id,omitzero"`
	Key     string          `json:"key,omitempty"` // the job's idempotency key
	Printer string          `json:"printer,omitempty"`
	From    State           `json:"from,omitempty"`
	To      State           `json:"to,omitempty"`
	Reason  string          `json:"reason,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"` // for events of other packages
}

// AppendEvent adds an event of another package (station's
// "order.updated") in the same transaction as its record writes. Type is
// required; ID and Time are assigned.
func (tx *Tx) AppendEvent(ev Event) (Event, error) {
	if err := tx.writable(); err != nil {
		return Event{}, err
	}
	if err := validName("event type", ev.Type, 64, false); err != nil {
		return Event{}, fmt.Errorf("queue: append event: %w", err)
	}
	if strings.HasPrefix(ev.Type, "job.") {
		return Event{}, fmt.Errorf("queue: append event: %w", invalidf("event type %q: the job. prefix is reserved for the queue", ev.Type))
	}
	if len(ev.Data) > 0 {
		var err error
		if ev.Data, err = compactData(ev.Data); err != nil {
			return Event{}, fmt.Errorf("queue: append event: %w", invalidf("event data: not valid JSON"))
		}
	}
	return tx.appendEvent(ev)
}

func (tx *Tx) appendEvent(ev Event) (Event, error) {
	b := tx.bucket(bEvents)
	seq, err := b.NextSequence()
	if err != nil {
		return Event{}, err
	}
	ev.ID = seq
	ev.Time = tx.now
	v, err := encodeEvent(ev)
	if err != nil {
		return Event{}, fmt.Errorf("encode event: %w", err)
	}
	if err := b.Put(u64(seq), v); err != nil {
		return Event{}, err
	}
	tx.evented = true
	return ev, nil
}

// AddConsumer registers an outbox consumer. A new consumer starts before
// the oldest retained event; an existing one keeps its cursor. Events are
// deleted only once every registered consumer acknowledged them (or they
// passed EventRetention).
func (d *DB) AddConsumer(ctx context.Context, name string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	return d.Update(func(tx *Tx) error { return tx.addConsumer(name) })
}

func (tx *Tx) addConsumer(name string) error {
	if err := validName("consumer", name, MaxKeyLen, false); err != nil {
		return fmt.Errorf("queue: add consumer: %w", err)
	}
	b := tx.bucket(bConsumers)
	if b.Get([]byte(name)) != nil {
		return nil
	}
	return b.Put([]byte(name), u64(0))
}

// RemoveConsumer forgets a consumer so it no longer holds events back.
func (d *DB) RemoveConsumer(ctx context.Context, name string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	return d.Update(func(tx *Tx) error {
		b := tx.bucket(bConsumers)
		if b.Get([]byte(name)) == nil {
			return fmt.Errorf("queue: remove consumer %q: %w", name, ErrNotFound)
		}
		return b.Delete([]byte(name))
	})
}

// Consumers returns every registered consumer's cursor (the last event id
// it acknowledged).
func (d *DB) Consumers(ctx context.Context) (map[string]uint64, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	err := d.View(func(tx *Tx) error {
		return tx.bucket(bConsumers).ForEach(func(k, v []byte) error {
			out[string(k)] = binary.BigEndian.Uint64(v)
			return nil
		})
	})
	return out, err
}

// Events returns up to limit events after consumer's cursor, oldest first.
// The same events come back until they are acknowledged.
func (d *DB) Events(ctx context.Context, consumer string, limit int) ([]Event, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("queue: events: %w", invalidf("limit: %d, want > 0", limit))
	}
	var out []Event
	err := d.View(func(tx *Tx) error {
		cur := tx.bucket(bConsumers).Get([]byte(consumer))
		if cur == nil {
			return fmt.Errorf("consumer %q: %w (AddConsumer first)", consumer, ErrNotFound)
		}
		var err error
		out, err = tx.eventsAfter(binary.BigEndian.Uint64(cur), limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("queue: events: %w", err)
	}
	return out, nil
}

// EventsAfter returns up to limit events with ids above after, oldest
// first, without a consumer: for live views (an event stream) that follow
// the outbox from LastEventID on. It holds nothing back and commits
// nothing; events that every consumer acknowledged may be gone already.
func (d *DB) EventsAfter(ctx context.Context, after uint64, limit int) ([]Event, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("queue: events after %d: %w", after, invalidf("limit: %d, want > 0", limit))
	}
	var out []Event
	err := d.View(func(tx *Tx) error {
		var err error
		out, err = tx.eventsAfter(after, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("queue: events after %d: %w", after, err)
	}
	return out, nil
}

func (tx *Tx) eventsAfter(after uint64, limit int) ([]Event, error) {
	var out []Event
	c := tx.bucket(bEvents).Cursor()
	for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
		var ev Event
		if err := json.Unmarshal(v, &ev); err != nil {
			return nil, fmt.Errorf("decode event %d: %w", binary.BigEndian.Uint64(k), err)
		}
		out = append(out, ev)
	}
	return out, nil
}

// Ack moves consumer's cursor to upto: every event with id ≤ upto is
// delivered. Acknowledging an older id than the cursor changes nothing.
func (d *DB) Ack(ctx context.Context, consumer string, upto uint64) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	err := d.update(batchNone, func(tx *Tx) error {
		b := tx.bucket(bConsumers)
		cur := b.Get([]byte(consumer))
		if cur == nil {
			return fmt.Errorf("consumer %q: %w", consumer, ErrNotFound)
		}
		if last := tx.bucket(bEvents).Sequence(); upto > last {
			return invalidf("ack %d: the last event is %d", upto, last)
		}
		if upto <= binary.BigEndian.Uint64(cur) {
			return nil
		}
		return b.Put([]byte(consumer), u64(upto))
	})
	if err != nil {
		return fmt.Errorf("queue: ack: %w", err)
	}
	return nil
}

// LastEventID is the id of the newest event ever written (0 if none).
func (d *DB) LastEventID(ctx context.Context) (uint64, error) {
	if err := ctxErr(ctx); err != nil {
		return 0, err
	}
	var last uint64
	err := d.View(func(tx *Tx) error {
		last = tx.bucket(bEvents).Sequence()
		return nil
	})
	return last, err
}

// encodeEvent is json.Marshal(ev) with Data, compact and valid already
// (AppendEvent), spliced in as it is: the encoder would validate and
// compact it once more, which was a tenth of the station's CPU per label
// (issue 13). Data is the struct's last field, so the bytes are the same.
func encodeEvent(ev Event) ([]byte, error) {
	data := ev.Data
	if len(data) == 0 {
		return json.Marshal(ev)
	}
	ev.Data = nil
	v, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	v = append(v[:len(v)-1], `,"data":`...)
	v = append(v, data...)
	return append(v, '}'), nil
}

// compactData validates and compacts event data in one scan, HTML-escaped
// as json.Marshal would store it, for encodeEvent to splice.
func compactData(data []byte) ([]byte, error) {
	var c bytes.Buffer
	c.Grow(len(data))
	if err := json.Compact(&c, data); err != nil {
		return nil, err
	}
	if !needsHTMLEscape(c.Bytes()) {
		return c.Bytes(), nil
	}
	var e bytes.Buffer
	json.HTMLEscape(&e, c.Bytes())
	return e.Bytes(), nil
}

// needsHTMLEscape reports whether json.Marshal would escape something in
// b (<, >, &, U+2028, U+2029); byte searches, much cheaper than a scan.
func needsHTMLEscape(b []byte) bool {
	return bytes.IndexByte(b, '<') >= 0 || bytes.IndexByte(b, '>') >= 0 || bytes.IndexByte(b, '&') >= 0 ||
		bytes.Contains(b, []byte("\u2028")) || bytes.Contains(b, []byte("\u2029"))
}
