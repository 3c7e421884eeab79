package firmware

import (
	"encoding/hex"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/packbench/packbench/internal/strictjson"
)

// Manifest describes one release binary. It is signed on its own; the
// binary is bound to it by SHA256 and Size (and carries its own signature).
type Manifest struct {
	Version    string `json:"version"`
	SHA256     string `json:"sha256"` // hex of the binary
	Size       int64  `json:"size"`   // bytes of the binary
	MinVersion string `json:"min_version,omitempty"`
	Channel    string `json:"channel,omitempty"`
	Notes      string `json:"notes,omitempty"`
	Target     Target `json:"target"`
	// URL optionally names where the binary is, relative to the manifest's
	// own URL or absolute (used by downloads; ignored for files).
	URL string `json:"url,omitempty"`
}

// Target is the platform a binary was built for, in Go's words.
type Target struct {
	OS   string `json:"os"`
	Arch string `json:"arch"`
	ARM  string `json:"arm,omitempty"` // GOARM ("6", "7") for arch "arm"
}

func (t Target) String() string {
	s := t.OS + "/" + t.Arch
	if t.ARM != "" {
		s += "v" + t.ARM
	}
	return s
}

// RunningTarget is the platform of the running binary. A 32-bit ARM
// binary reports the GOARM it was built with: the bench accepts that or
// older ARM levels only, since the hardware's own level is not known.
func RunningTarget() Target {
	t := Target{OS: runtime.GOOS, Arch: runtime.GOARCH}
	if t.Arch == "arm" {
		t.ARM = "6"
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "GOARM" {
					t.ARM, _, _ = strings.Cut(s.Value, ",")
				}
			}
		}
	}
	return t
}

// runsOn reports whether a binary built for t runs on a device running d.
func (t Target) runsOn(d Target) bool {
	if t.OS != d.OS || t.Arch != d.Arch {
		return false
	}
	if t.Arch != "arm" {
		return true
	}
	tv, err1 := strconv.Atoi(t.ARM)
	dv, err2 := strconv.Atoi(d.ARM)
	return err1 == nil && err2 == nil && tv <= dv
}

// maxManifest bounds a manifest document: it is small text.
const maxManifest = 64 << 10

// ParseManifest decodes a manifest strictly and checks that it is whole.
// It does not check the signature: Verify does.
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := strictjson.Decode(data, &m, &strictjson.Options{MaxBytes: maxManifest, ExactCase: true}); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	if _, err := ParseVersion(m.Version); err != nil {
		return nil, fmt.Errorf("%w: version: %w", ErrManifest, err)
	}
	if m.MinVersion != "" {
		minV, err := ParseVersion(m.MinVersion)
		if err != nil {
			return nil, fmt.Errorf("%w: min_version: %w", ErrManifest, err)
		}
		if v, _ := ParseVersion(m.Version); v.Compare(minV) < 0 {
			return nil, fmt.Errorf("%w: version %s is below its own min_version %s", ErrBelowMin, m.Version, m.MinVersion)
		}
	}
	if b, err := hex.DecodeString(m.SHA256); err != nil || len(b) != 32 {
		return nil, fmt.Errorf("%w: sha256: want 64 hex digits", ErrManifest)
	}
	if m.Size <= 0 {
		return nil, fmt.Errorf("%w: size: want a positive number of bytes", ErrManifest)
	}
	if m.Target.OS == "" || m.Target.Arch == "" {
		return nil, fmt.Errorf("%w: target: os and arch are required", ErrManifest)
	}
	if m.Target.Arch == "arm" {
		if _, err := strconv.Atoi(m.Target.ARM); err != nil {
			return nil, fmt.Errorf("%w: target.arm: want the GOARM level (6, 7) for arch arm", ErrManifest)
		}
	}
	return &m, nil
}

// Version is a release number MAJOR.MINOR.PATCH with an optional
// -prerelease, which sorts before the release.
type Version struct {
	Num [3]int
	Pre string
	raw string
}

func (v Version) String() string { return v.raw }

// ParseVersion reads "1.2.3", "v1.2.3" or "1.2.3-rc.1". The characters
// are limited because a version names a directory.
func ParseVersion(s string) (Version, error) {
	core, pre, hasPre := strings.Cut(strings.TrimPrefix(s, "v"), "-")
	if hasPre {
		if pre == "" {
			return Version{}, fmt.Errorf("%q: empty prerelease", s)
		}
		for _, r := range pre {
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '.' || r == '-') {
				return Version{}, fmt.Errorf("%q: prerelease may hold only letters, digits, '.' and '-'", s)
			}
		}
	}
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return Version{}, fmt.Errorf("%q: want MAJOR.MINOR.PATCH", s)
	}
	v := Version{Pre: pre, raw: s}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p != strconv.Itoa(n) {
			return Version{}, fmt.Errorf("%q: want MAJOR.MINOR.PATCH in decimal", s)
		}
		v.Num[i] = n
	}
	return v, nil
}

// Compare returns -1, 0 or +1 as v is older than, equal to or newer than w.
func (v Version) Compare(w Version) int {
	for i := range v.Num {
		if v.Num[i] != w.Num[i] {
			if v.Num[i] < w.Num[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case v.Pre == w.Pre:
		return 0
	case v.Pre == "":
		return 1
	case w.Pre == "":
		return -1
	case v.Pre < w.Pre:
		return -1
	}
	return 1
}
