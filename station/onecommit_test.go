package station

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
)

// A package of an existing order is reserved in its label's commit
// (shipOneCommit), after the carrier answered. A crash between the answer
// and that commit leaves the order as it was, and the next Ship asks for
// the same reference: the same parcel, one job.
func TestOneCommitCrashBeforeTheLabelCommits(t *testing.T) {
	clk := newClock()
	dir := t.TempDir()
	db := openDB(t, dir, clk)
	ok := okAnswer(base64.StdEncoding.EncodeToString(carrierPNG(t, 400, 600)))
	var crashed []byte // the file as a crash during the first answer leaves it
	snapped := make(chan error, 1)
	f, url := startFulfil(t, func(w http.ResponseWriter, r *http.Request, attempt int) {
		if attempt == 1 {
			var err error
			crashed, err = os.ReadFile(filepath.Join(dir, "packbench.db"))
			snapped <- err
		}
		ok(w, r, attempt)
	})
	cfg := Config{Carrier: CarrierConfig{Kind: CarrierHTTP, HTTP: HTTPCarrierConfig{URL: url}}}
	st := newStation(t, db, clk, cfg)
	o := mustCreate(t, st, Order{})
	ref := o.ID + "-1"

	// The test holds the database's writer: nothing of the package can
	// commit while the carrier is asked and answers.
	held, release := make(chan struct{}), newGate(t)
	holding := make(chan error, 1)
	go func() {
		holding <- db.Update(func(*queue.Tx) error {
			close(held)
			<-release.ch
			return nil
		})
	}()
	await(t, held, "the test holding the writer")
	shipped := shipAsync(st, context.Background(), o.ID)
	if err := await(t, snapped, "the carrier asked with no commit"); err != nil {
		t.Fatal(err)
	}
	release.open()
	if err := await(t, holding, "the test's transaction"); err != nil {
		t.Fatal(err)
	}
	if r := await(t, shipped, "Ship"); r.err != nil || r.p.Reference != ref {
		t.Fatalf("Ship before the crash: %+v, %v", r.p, r.err)
	}

	// Restart from the file as the crash left it.
	dir2 := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir2, "packbench.db"), crashed, 0o600); err != nil {
		t.Fatal(err)
	}
	db2 := openDB(t, dir2, clk)
	st2 := newStation(t, db2, clk, cfg)
	if p, err := st2.Package(context.Background(), ref); err == nil {
		t.Fatalf("the package was on disk before the carrier answered: %+v", p)
	}
	p, err := st2.Ship(context.Background(), ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 700_000}})
	if err != nil {
		t.Fatal(err)
	}
	refs, _ := f.seen()
	if len(refs) != 2 || refs[0] != ref || refs[1] != ref || p.Reference != ref || p.TrackingNumber != "1Z999AA10123456784" {
		t.Errorf("upstream saw %v; package %s, tracking %s", refs, p.Reference, p.TrackingNumber)
	}
	if js := jobs(t, db2); len(js) != 1 || js[0].Key != ref {
		t.Errorf("jobs %+v, want the one label", js)
	}
}

// commits is how many write transactions the bbolt file has committed: the
// higher txid of its two meta pages (bbolt's on-disk layout: a 16-byte
// page header, then magic, version, page size, flags, the root bucket (16
// bytes), the freelist and high-water page ids, then the txid).
func commits(t *testing.T, path string) uint64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := int(binary.LittleEndian.Uint32(data[24:]))
	return max(binary.LittleEndian.Uint64(data[64:]), binary.LittleEndian.Uint64(data[pageSize+64:]))
}

// A parcel placed for an existing order with the http carrier costs one
// commit: the package reserved, the job, the label, the events and the
// page's last label together (it cost three: the reservation, the label,
// then the last label), so the printer's claim waits behind none of them.
func TestCarrierLabelIsOneCommit(t *testing.T) {
	_, url := startFulfil(t, okAnswer(base64.StdEncoding.EncodeToString(carrierPNG(t, 400, 600))))
	clk := newClock()
	dir := t.TempDir()
	db := openDB(t, dir, clk)
	st := newStation(t, db, clk, Config{Carrier: CarrierConfig{Kind: CarrierHTTP, HTTP: HTTPCarrierConfig{URL: url}}})
	mustCreate(t, st, Order{AssociatedIdentifiers: []string{"LPN-1"}})
	if _, err := st.Scan(context.Background(), "LPN-1"); err != nil {
		t.Fatal(err)
	}
	sc := newFeeder(t, st, clk)
	sc.hold(0, scale.StatusZero, 3)
	path := filepath.Join(dir, "packbench.db")
	before := commits(t, path)
	sc.place(1200)
	after := commits(t, path)
	s := st.State()
	if s.State != FlowPrinting || s.JobID == 0 {
		t.Fatalf("no label: %+v", s)
	}
	if after-before != 1 {
		t.Errorf("%d commits for the label, want 1", after-before)
	}
	db.Close()
	db = openDB(t, dir, clk)
	if again := newStation(t, db, clk, Config{}).State(); again.LabelID != s.LabelID || again.JobID != s.JobID {
		t.Errorf("after a restart the page's last label is %+v, want %s / %s", again, s.LabelID, s.JobID)
	}
}
