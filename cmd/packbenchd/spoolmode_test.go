package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/packbench/packbench/device"
)

// The PNG preview beside a spooled label has the spool's one file mode.
func TestPreviewFileMode(t *testing.T) {
	dir := t.TempDir()
	if err := writeFileAtomic(dir, "j00000001.png", []byte("png")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "j00000001.png"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != device.SpoolFileMode {
		t.Errorf("preview mode %v, want %v", fi.Mode().Perm(), os.FileMode(device.SpoolFileMode))
	}
}
