package firmware

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"aead.dev/minisign"
)

// A release on disk or on a server is four files: the manifest, its
// signature (manifest + ".minisig"), the binary and its signature. The
// binary is the manifest's "url", relative to the manifest, or
// "packbenchd" next to it when the manifest names none.

// binaryRef is where the manifest says its binary is. It is read before
// the signature is checked only to find the file; nothing else of the
// manifest is trusted until Check.
func binaryRef(manifest []byte) string {
	var m struct {
		URL string `json:"url"`
	}
	if json.Unmarshal(manifest, &m) != nil || m.URL == "" {
		return BinaryName
	}
	return m.URL
}

// FileBundle reads the release whose manifest is at path.
func FileBundle(path string) (Bundle, error) {
	var b Bundle
	var err error
	if b.Manifest, err = readSmall(path); err != nil {
		return b, err
	}
	if b.ManifestSig, err = readSmall(path + SigSuffix); err != nil {
		return b, err
	}
	ref := binaryRef(b.Manifest)
	if strings.Contains(ref, "://") {
		return b, fmt.Errorf("firmware: %s names a remote binary (%s): apply the manifest's URL instead", path, ref)
	}
	bin := ref
	if !filepath.IsAbs(bin) {
		bin = filepath.Join(filepath.Dir(path), bin)
	}
	if b.BinarySig, err = readSmall(bin + SigSuffix); err != nil {
		return b, err
	}
	b.Binary = func() (io.ReadCloser, error) { return os.Open(bin) }
	return b, nil
}

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("firmware: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxManifest+1))
	if err != nil {
		return nil, fmt.Errorf("firmware: read %s: %w", path, err)
	}
	if len(b) > maxManifest {
		return nil, fmt.Errorf("firmware: %s: longer than %d bytes", path, maxManifest)
	}
	return b, nil
}

// WriteRelease makes a release in dir from the binary at bin: dir/packbenchd
// (a copy), dir/manifest.json with bin's size and sha256 filled in, and a
// signature for each made with k.
func WriteRelease(k minisign.PrivateKey, m Manifest, bin, dir string) error {
	data, err := os.ReadFile(bin)
	if err != nil {
		return fmt.Errorf("firmware: release: %w", err)
	}
	sum := sha256.Sum256(data)
	m.SHA256, m.Size, m.URL = hex.EncodeToString(sum[:]), int64(len(data)), ""
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("firmware: release: %w", err)
	}
	if _, err := ParseManifest(mb); err != nil {
		return fmt.Errorf("firmware: release: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("firmware: release: %w", err)
	}
	for _, f := range []struct {
		name    string
		content []byte
		mode    os.FileMode
	}{{BinaryName, data, 0o755}, {manifestName, append(mb, '\n'), 0o644}} {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.content, f.mode); err != nil {
			return fmt.Errorf("firmware: release: %w", err)
		}
		if err := SignFile(k, p); err != nil {
			return err
		}
	}
	return nil
}
