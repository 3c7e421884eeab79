package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/packbench/packbench/internal/datadir"
)

// apiKey returns the key the API checks. A provisioned key ([api] key or
// PACKBENCH_API_KEY) wins; otherwise the key in <dataDir>/api-key, created
// with a fresh random key on first start. A generated key is written to
// notice exactly once, the first time; later starts say where it is. The key
// itself never goes to the logger.
func apiKey(provisioned, dataDir string, notice io.Writer) (string, error) {
	if provisioned != "" {
		return provisioned, nil
	}
	path := filepath.Join(dataDir, datadir.KeyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		key := strings.TrimSpace(string(b))
		if len(key) < minKeyLen {
			return "", fmt.Errorf("api key file %s: holds %d characters, want at least %d (delete it to generate a new key)", path, len(key), minKeyLen)
		}
		fmt.Fprintf(notice, "packbenchd: API key in %s\n", path)
		return key, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("api key: %w", err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("api key: generate: %w", err)
	}
	// Hex: safe in shells, headers and URLs, and never starts with "-",
	// which command-line tools would take for a flag.
	key := hex.EncodeToString(raw[:])
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("api key: %w", err)
	}
	// O_EXCL: two daemons racing on a fresh data dir must not both print a
	// key only one of them kept.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("api key: %w", err)
	}
	if _, err := f.WriteString(key + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("api key: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("api key: fsync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("api key: %w", err)
	}
	fmt.Fprintf(notice, "packbenchd: generated an API key, saved in %s (shown only this once):\n\n    %s\n\n", path, key)
	return key, nil
}
