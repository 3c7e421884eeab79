package queue_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/packbench/packbench/queue"
)

// A producer enqueues, the printer worker claims and reports, and an
// outbox consumer reads the events and acknowledges them.
func Example() {
	dir, _ := os.MkdirTemp("", "queue-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	q, err := queue.Open(filepath.Join(dir, "packbench.db"), &queue.Options{Consumers: []string{"mqtt"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer q.Close()

	job, created, _ := q.Enqueue(ctx, queue.NewJob{
		Key: "order-1001/pkg-1", Source: queue.SourceFlow, Printer: "zebra",
		ContentType: queue.ContentZPL, Payload: []byte("^XA^FDhello^FS^XZ"),
	})
	fmt.Println("enqueued", job.ID, created)
	_, created, _ = q.Enqueue(ctx, queue.NewJob{
		Key: "order-1001/pkg-1", Source: queue.SourceFlow, Printer: "zebra",
		ContentType: queue.ContentZPL, Payload: []byte("^XA^XZ"),
	})
	fmt.Println("same key again, created:", created)

	// The printer worker: take the wait channel before claiming.
	wake := q.Wait("zebra")
	j, err := q.Claim(ctx, "zebra")
	if errors.Is(err, queue.ErrEmpty) {
		<-wake
	}
	fmt.Println("claimed", j.ID, j.State, string(j.Payload))
	q.SetState(ctx, j.ID, queue.StateSent, "")
	q.SetState(ctx, j.ID, queue.StatePrinted, "~HS: no error")
	_, err = q.SetState(ctx, j.ID, queue.StateSent, "")
	fmt.Println(err)

	// An outbox consumer.
	evs, _ := q.Events(ctx, "mqtt", 100)
	for _, ev := range evs {
		fmt.Println(ev.ID, ev.Type, ev.JobID, ev.From, "→", ev.To)
	}
	q.Ack(ctx, "mqtt", evs[len(evs)-1].ID)
	// Output:
	// enqueued j00000001 true
	// same key again, created: false
	// claimed j00000001 sending ^XA^FDhello^FS^XZ
	// queue: set state: job j00000001: cannot go from printed to sent
	// 1 job.queued j00000001  → queued
	// 2 job.state j00000001 queued → sending
	// 3 job.state j00000001 sending → sent
	// 4 job.state j00000001 sent → printed
}
