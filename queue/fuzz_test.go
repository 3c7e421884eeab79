package queue

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
)

func FuzzParseJobID(f *testing.F) {
	for _, tc := range jobIDCases() {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseJobID(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseJobID(%q) error %v is not ErrInvalid", s, err)
			}
			return
		}
		if id == 0 {
			t.Fatalf("ParseJobID(%q) accepted id 0", s)
		}
		back, err := ParseJobID(id.String())
		if err != nil || back != id {
			t.Fatalf("round trip %q → %s → %v, %v", s, id, back, err)
		}
	})
}

// FuzzEnqueue feeds arbitrary job fields through a real file: each either
// fails with an error naming the broken rule, or is stored and reads back
// byte for byte, and enqueuing it again answers the same job.
func FuzzEnqueue(f *testing.F) {
	f.Add("pkg-1", "http", "zebra", "application/zpl", []byte("^XA^XZ"), 1, "")
	f.Add("", "mqtt", "p", "image/png", []byte{0x89, 'P'}, 0, "order-7")
	f.Add("png-1", "flow", "p", "image/png", []byte("\x89PNG\r\n\x1a\n\x00\x00"), 2, "")
	f.Add("k\n", "fax", "", "text/plain", []byte{}, -1, "\x00")
	f.Add("ключ", "webhook", "принтер", "application/json", []byte(`{"a":1}`), 1000, "ref")
	f.Add("k", "raw9100", "p", "application/zpl", []byte("^XA"), 1001, "")
	d := openT(f, filepath.Join(f.TempDir(), "q.db"), &Options{MaxPayload: 1 << 16})
	f.Fuzz(func(t *testing.T, key, source, printer, ctype string, payload []byte, copies int, ref string) {
		ctx := context.Background()
		nj := NewJob{Key: key, Source: Source(source), Printer: printer, ContentType: ctype, Payload: payload, Copies: copies, Ref: ref}
		j, created, err := d.Enqueue(ctx, nj)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrPayloadTooLarge) {
				t.Fatalf("Enqueue error %v is neither ErrInvalid nor ErrPayloadTooLarge", err)
			}
			return
		}
		got, err := d.Job(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if created && (got.Key != key || got.Printer != printer || got.Ref != ref || !bytes.Equal(got.Payload, payload) || got.State != StateQueued) {
			t.Fatalf("stored %+v differs from %+v", got, nj)
		}
		again, createdAgain, err := d.Enqueue(ctx, nj)
		if err != nil || createdAgain || again.ID != j.ID {
			t.Fatalf("second enqueue = %s created=%v err=%v; want %s", again.ID, createdAgain, err, j.ID)
		}
	})
}
