package queue

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
)

// Record kinds other packages use. Any kind name passing the rules
// (1-64 bytes of a-z, 0-9, '_', '-', '.') works; these are the known ones.
const (
	KindOrders    = "orders"
	KindShipments = "shipments"
	KindStock     = "stock"
	KindWebhooks  = "webhooks"
)

// Limits on record keys and values.
const (
	MaxRecordKeyLen   = 1024
	MaxRecordValueLen = 4 << 20
)

// Record is one stored record.
type Record struct {
	Key   string
	Value []byte
}

// RecordPage selects records for ListRecords.
type RecordPage struct {
	Prefix string // only keys starting with it
	After  string // only keys sorting after it (paging)
	Limit  int    // 0: all
}

func validKind(kind string) error {
	if kind == "" || len(kind) > 64 {
		return invalidf("record kind %q: want 1 to 64 bytes", kind)
	}
	for _, r := range kind {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return invalidf("record kind %q: only a-z, 0-9, '_', '-' and '.' allowed", kind)
		}
	}
	return nil
}

func validRecordKey(key string) error {
	if key == "" {
		return invalidf("record key: must not be empty")
	}
	if len(key) > MaxRecordKeyLen {
		return invalidf("record key: %d bytes, at most %d allowed", len(key), MaxRecordKeyLen)
	}
	return nil
}

// PutRecord stores value under kind/key, replacing any previous value.
func (tx *Tx) PutRecord(kind, key string, value []byte) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if err := validKind(kind); err != nil {
		return fmt.Errorf("queue: put record: %w", err)
	}
	if err := validRecordKey(key); err != nil {
		return fmt.Errorf("queue: put record %s: %w", kind, err)
	}
	if len(value) > MaxRecordValueLen {
		return fmt.Errorf("queue: put record %s/%s: %w", kind, key, invalidf("value: %d bytes, at most %d allowed", len(value), MaxRecordValueLen))
	}
	b, err := tx.bucket(bRecords).CreateBucketIfNotExists([]byte(kind))
	if err != nil {
		return fmt.Errorf("queue: put record %s/%s: %w", kind, key, err)
	}
	if value == nil {
		value = []byte{} // bbolt stores nil as empty anyway; keep Get's answer non-nil
	}
	return b.Put([]byte(key), value)
}

// GetRecord returns a copy of the value under kind/key, or ErrNotFound.
func (tx *Tx) GetRecord(kind, key string) ([]byte, error) {
	if err := validKind(kind); err != nil {
		return nil, fmt.Errorf("queue: get record: %w", err)
	}
	var v []byte
	if b := tx.bucket(bRecords).Bucket([]byte(kind)); b != nil {
		v = b.Get([]byte(key))
	}
	if v == nil {
		return nil, fmt.Errorf("queue: record %s/%s: %w", kind, key, ErrNotFound)
	}
	return bytes.Clone(v), nil
}

// DeleteRecord removes kind/key; deleting a missing record is not an error.
func (tx *Tx) DeleteRecord(kind, key string) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if err := validKind(kind); err != nil {
		return fmt.Errorf("queue: delete record: %w", err)
	}
	b := tx.bucket(bRecords).Bucket([]byte(kind))
	if b == nil {
		return nil
	}
	return b.Delete([]byte(key))
}

// ListRecords returns records of kind in key order.
func (tx *Tx) ListRecords(kind string, p RecordPage) ([]Record, error) {
	if err := validKind(kind); err != nil {
		return nil, fmt.Errorf("queue: list records: %w", err)
	}
	b := tx.bucket(bRecords).Bucket([]byte(kind))
	if b == nil {
		return nil, nil
	}
	var out []Record
	c := b.Cursor()
	start := p.Prefix
	if p.After >= start {
		start = p.After
	}
	k, v := c.Seek([]byte(start))
	if k != nil && p.After != "" && string(k) == p.After {
		k, v = c.Next()
	}
	for ; k != nil && bytes.HasPrefix(k, []byte(p.Prefix)); k, v = c.Next() {
		out = append(out, Record{Key: string(k), Value: bytes.Clone(v)})
		if p.Limit > 0 && len(out) >= p.Limit {
			break
		}
	}
	return out, nil
}

// NextCounter increments the durable counter name and returns its new
// value (1 the first time): tracking number sequences and the like.
func (tx *Tx) NextCounter(name string) (uint64, error) {
	if err := tx.writable(); err != nil {
		return 0, err
	}
	if err := validName("counter", name, MaxKeyLen, false); err != nil {
		return 0, fmt.Errorf("queue: next counter: %w", err)
	}
	b := tx.bucket(bCounters)
	n := counterValue(b, name) + 1
	if err := b.Put([]byte(name), u64(n)); err != nil {
		return 0, fmt.Errorf("queue: next counter %s: %w", name, err)
	}
	return n, nil
}

// Counter returns the current value of counter name (0 if never used).
func (tx *Tx) Counter(name string) uint64 { return counterValue(tx.bucket(bCounters), name) }

func counterValue(b *bucket, name string) uint64 {
	if v := b.Get([]byte(name)); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// PutRecord is Tx.PutRecord in its own transaction.
func (d *DB) PutRecord(ctx context.Context, kind, key string, value []byte) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	return d.Update(func(tx *Tx) error { return tx.PutRecord(kind, key, value) })
}

// GetRecord is Tx.GetRecord in its own transaction.
func (d *DB) GetRecord(ctx context.Context, kind, key string) ([]byte, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	var v []byte
	err := d.View(func(tx *Tx) error {
		var err error
		v, err = tx.GetRecord(kind, key)
		return err
	})
	return v, err
}

// DeleteRecord is Tx.DeleteRecord in its own transaction.
func (d *DB) DeleteRecord(ctx context.Context, kind, key string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	return d.Update(func(tx *Tx) error { return tx.DeleteRecord(kind, key) })
}

// ListRecords is Tx.ListRecords in its own transaction.
func (d *DB) ListRecords(ctx context.Context, kind string, p RecordPage) ([]Record, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	var out []Record
	err := d.View(func(tx *Tx) error {
		var err error
		out, err = tx.ListRecords(kind, p)
		return err
	})
	return out, err
}

// NextCounter is Tx.NextCounter in its own transaction.
func (d *DB) NextCounter(ctx context.Context, name string) (uint64, error) {
	if err := ctxErr(ctx); err != nil {
		return 0, err
	}
	var n uint64
	err := d.Update(func(tx *Tx) error {
		var err error
		n, err = tx.NextCounter(name)
		return err
	})
	return n, err
}
