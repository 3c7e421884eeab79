package device

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestSpool(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	p, err := Open(PrinterConfig{Name: "default", Transport: "spool", Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	s := p.(*Spool)
	ctx := context.Background()
	if st, err := s.Status(ctx); err != nil || st.State != StateReady || !st.Idle() {
		t.Fatalf("status = %+v, %v", st, err)
	}
	label := []byte("^XA^FO50,50^A0N,50,50^FDhello^FS^XZ")
	if n, err := s.SendJob(ctx, "job-1", label); err != nil || n != len(label) {
		t.Fatalf("SendJob = %d, %v", n, err)
	}
	// Same id again replaces, never duplicates.
	if _, err := s.SendJob(ctx, "job-1", label); err != nil {
		t.Fatal(err)
	}
	// An id that tries to climb out of the folder stays inside it.
	if _, err := s.SendJob(ctx, "../../etc/passwd", label); err != nil {
		t.Fatal(err)
	}
	if got := names(t, dir); len(got) != 2 || got[0] != "_._.._etc_passwd.zpl" || got[1] != "job-1.zpl" {
		t.Fatalf("folder holds %q", got)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "job-1.zpl"))
	if string(got) != string(label) {
		t.Fatalf("file = %q", got)
	}
	if _, err := s.SendJob(ctx, "", label); err == nil || !IsPermanent(err) {
		t.Fatalf("empty id err = %v, want permanent", err)
	}
	os.RemoveAll(dir)
	if st, err := s.Status(ctx); err == nil || st.State != StateOffline {
		t.Fatalf("status of removed folder = %+v, %v", st, err)
	}
}

// Every spool file has the one mode SpoolFileMode (the daemon's PNG
// previews use it too), whatever the umask (issue 19).
func TestSpoolFileMode(t *testing.T) {
	dir := t.TempDir()
	s, err := NewSpool("s", dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SendJob(context.Background(), "j00000001", []byte("^XA^XZ")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "j00000001.zpl"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != SpoolFileMode {
		t.Errorf("spool file mode %v, want %v", fi.Mode().Perm(), os.FileMode(SpoolFileMode))
	}
}
