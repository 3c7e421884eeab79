package firmware

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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
