// Package firmwaretest makes signed releases and directory snapshots for
// the tests of the firmware store and its triggers.
package firmwaretest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"aead.dev/minisign"

	"github.com/packbench/packbench/firmware"
)

// Key is a fresh release key pair.
func Key(t testing.TB) (minisign.PublicKey, minisign.PrivateKey) {
	t.Helper()
	pub, priv, err := minisign.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

// Release signs m and bin with priv. A zero SHA256 or Size is filled in
// from bin; a zero Target is the running platform.
func Release(t testing.TB, priv minisign.PrivateKey, m firmware.Manifest, bin []byte) firmware.Bundle {
	t.Helper()
	if m.SHA256 == "" {
		sum := sha256.Sum256(bin)
		m.SHA256 = hex.EncodeToString(sum[:])
	}
	if m.Size == 0 {
		m.Size = int64(len(bin))
	}
	if m.Target == (firmware.Target{}) {
		m.Target = firmware.RunningTarget()
	}
	mb, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return firmware.Bundle{
		Manifest:    mb,
		ManifestSig: sign(t, priv, mb, "manifest.json"),
		BinarySig:   sign(t, priv, bin, "packbenchd"),
		Binary:      func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(bin)), nil },
	}
}

func sign(t testing.TB, priv minisign.PrivateKey, data []byte, name string) []byte {
	t.Helper()
	sig, err := firmware.Sign(priv, bytes.NewReader(data), name)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// WriteRelease writes b as dir/manifest.json(.minisig) and
// dir/packbenchd(.minisig) and returns the manifest's path.
func WriteRelease(t testing.TB, dir string, b firmware.Bundle) string {
	t.Helper()
	rc, err := b.Binary()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"manifest.json": b.Manifest, "manifest.json.minisig": b.ManifestSig,
		"packbenchd": bin, "packbenchd.minisig": b.BinarySig,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "manifest.json")
}

// Snapshot maps every path under dir to its content's sha256, a
// symlink's target, or "dir".
func Snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if os.IsNotExist(err) && p == dir {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "-> " + l
		case d.IsDir():
			out[rel] = "dir"
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			out[rel] = hex.EncodeToString(sum[:])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
