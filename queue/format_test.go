package queue

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestRecordFormatGolden pins the bytes schema 1 stores for a job and its
// events. Files written by one packbench are read by the next: a change
// here needs a SchemaVersion bump and a migration, not a golden update.
func TestRecordFormatGolden(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	d := openT(t, filepath.Join(t.TempDir(), "q.db"), &Options{Clock: clk})
	nj := zpl("order-1001/pkg-1", "zebra")
	nj.Copies, nj.Ref, nj.Source = 2, "order-1001", SourceFlow
	j := mustEnqueue(t, d, nj)
	clk.Advance(1500 * time.Millisecond)
	if _, err := d.Claim(ctx, "zebra"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Second)
	if _, err := d.SetState(ctx, j.ID, StateFailed, "printer reports head open"); err != nil {
		t.Fatal(err)
	}
	err := d.Update(func(tx *Tx) error {
		_, err := tx.AppendEvent(Event{Type: "order.updated", Data: json.RawMessage(`{"order":"order-1001"}`)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	err = d.View(func(tx *Tx) error {
		got.Write(tx.bucket(bJobs).Get(j.ID.key()))
		got.WriteByte('\n')
		return tx.bucket(bEvents).ForEach(func(_, v []byte) error {
			got.Write(v)
			got.WriteByte('\n')
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "schema1-records.jsonl")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("stored records changed (bump SchemaVersion and migrate):\ngot:\n%s\nwant:\n%s", got.Bytes(), want)
	}
	// And the golden job decodes into the same job.
	var back Job
	if err := json.Unmarshal(bytes.SplitN(want, []byte("\n"), 2)[0], &back); err != nil {
		t.Fatal(err)
	}
	stored, _ := d.Job(ctx, j.ID)
	stored.Payload = nil
	a, _ := json.Marshal(back)
	b, _ := json.Marshal(stored)
	if !bytes.Equal(a, b) {
		t.Fatalf("golden job decodes to %s, stored job is %s", a, b)
	}
}
