// Command package builds packbench's Debian packages with nfpm (a Go
// library: no dpkg-dev, no debhelper, the same bytes on any build host).
// scripts/package builds the binaries and runs it; see docs/install.md.
//
//	go run . -root ../.. -version 1.2.3 -arch arm64 -bin DIR -out ../../dist
//
// DIR holds packbenchd and packbench built for that architecture. It writes
// <out>/packbench_<version>_<arch>.deb.
//
// It is a module of its own: nfpm brings ~40 modules (git, PGP, rpm, apk)
// that the daemon must not link nor its go.mod list.
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "package:", err)
		os.Exit(1)
	}
}

// archs maps Debian architectures to what the binaries were built for
// (armhf is Raspberry Pi OS's 32-bit userland, ARMv6 since the Pi Zero/1).
var archs = map[string]string{
	"amd64": "linux/amd64",
	"arm64": "linux/arm64",
	"armhf": "linux/arm/6",
}

func run() error {
	root := flag.String("root", ".", "the repository `DIR`")
	version := flag.String("version", "", "Debian `VERSION` of the package")
	arch := flag.String("arch", "", "Debian `ARCH`: amd64, arm64 or armhf")
	bin := flag.String("bin", "", "`DIR` holding packbenchd and packbench for ARCH")
	out := flag.String("out", "dist", "output `DIR`")
	flag.Parse()
	if *version == "" || *bin == "" {
		return fmt.Errorf("-version and -bin are required")
	}
	if _, ok := archs[*arch]; !ok {
		return fmt.Errorf("-arch %q: want amd64, arm64 or armhf", *arch)
	}
	mtime, err := sourceDate()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "packbench-package-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	changelog := filepath.Join(tmp, "changelog.gz")
	if err := writeChangelog(changelog, *version, mtime); err != nil {
		return err
	}

	info := packageInfo(*root, *version, *arch, *bin, changelog, mtime)
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	if err := nfpm.Validate(info); err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	name := filepath.Join(*out, fmt.Sprintf("packbench_%s_%s.deb", *version, *arch))
	var buf bytes.Buffer
	if err := deb.Default.Package(info, &buf); err != nil {
		return fmt.Errorf("package %s: %w", name, err)
	}
	// Written whole or not at all: a half package must not look built.
	if err := os.WriteFile(name+".tmp", buf.Bytes(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(name+".tmp", name); err != nil {
		return err
	}
	fmt.Println(name)
	return nil
}

// packageInfo is the package: what goes where, with which mode, and the
// maintainer scripts. The files come from systemd/ (docs/install.md).
func packageInfo(root, version, arch, bin, changelog string, mtime time.Time) *nfpm.Info {
	sd := func(p string) string { return filepath.Join(root, "systemd", p) }
	file := func(src, dst string, mode os.FileMode) *files.Content {
		return &files.Content{Source: src, Destination: dst, FileInfo: &files.ContentFileInfo{Mode: mode, MTime: mtime}}
	}
	doc := "/usr/share/doc/packbench/"
	contents := files.Contents{
		file(filepath.Join(bin, "packbenchd"), "/usr/lib/packbench/packbenchd", 0o755),
		file(filepath.Join(bin, "packbench"), "/usr/bin/packbench", 0o755),
		file(sd("packbenchd.service"), "/usr/lib/systemd/system/packbenchd.service", 0o644),
		file(sd("60-packbench.rules"), "/usr/lib/udev/rules.d/60-packbench.rules", 0o644),
		file(sd("modules-load.conf"), "/usr/lib/modules-load.d/packbench.conf", 0o644),
		file(sd("debian/lintian-overrides"), "/usr/share/lintian/overrides/packbench", 0o644),
		file(sd("debian/copyright"), doc+"copyright", 0o644),
		file(changelog, doc+"changelog.gz", 0o644),
		file(filepath.Join(root, "docs", "install.md"), doc+"install.md", 0o644),
		file(filepath.Join(root, "cmd", "packbenchd", "packbench.example.toml"), doc+"examples/packbench.example.toml", 0o644),
		file(sd("packbenchd-low-ports.conf"), doc+"examples/packbenchd-low-ports.conf", 0o644),
	}
	// A conffile: dpkg keeps the admin's edits across upgrades and asks
	// before replacing them; purge removes it.
	conf := file(sd("packbench.toml"), "/etc/packbench/packbench.toml", 0o644)
	conf.Type = files.TypeConfigNoReplace
	contents = append(contents, conf)

	return &nfpm.Info{
		Name:          "packbench",
		Arch:          arch,
		Platform:      "linux",
		Version:       version,
		VersionSchema: "none",
		Section:       "misc",
		Priority:      "optional",
		Maintainer:    "packbench maintainers <packbench@example.com>",
		Homepage:      "https://github.com/packbench/packbench",
		License:       "proprietary",
		Description: "packing bench appliance daemon\n" +
			"packbench reads a shipping scale, renders labels as ZPL and drives the\n" +
			"thermal printer of a packing bench, keeping every job in a bbolt file.\n" +
			"Integrators drive it through a local HTTP API and MQTT.",
		MTime: mtime,
		Overridables: nfpm.Overridables{
			// passwd (useradd, groupadd) is priority required but not
			// essential; init-system-helpers (deb-systemd-helper) is.
			// poppler-utils (pdftoppm) renders carriers' PDF labels
			// (package pdfrender); util-linux (prlimit) is essential.
			Depends:  []string{"passwd", "poppler-utils"},
			Contents: contents,
			Scripts: nfpm.Scripts{
				PostInstall: sd("debian/postinst"),
				PreRemove:   sd("debian/prerm"),
				PostRemove:  sd("debian/postrm"),
			},
			Deb: nfpm.Deb{Compression: "gzip"},
		},
	}
}

// sourceDate is the time stamped on every file: SOURCE_DATE_EPOCH (the
// commit's time, from scripts/package), so that the same commit packs to
// the same bytes.
func sourceDate() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", s, err)
	}
	return time.Unix(n, 0).UTC(), nil
}

// writeChangelog writes the one-entry Debian changelog every package needs
// (gzip -9n: no name or time in the gzip header).
func writeChangelog(path, version string, when time.Time) error {
	text := fmt.Sprintf("packbench (%s) unstable; urgency=medium\n\n"+
		"  * Built from the packbench repository; its git history is the\n"+
		"    changelog.\n\n"+
		" -- packbench maintainers <packbench@example.com>  %s\n",
		version, when.Format(time.RFC1123Z))
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write([]byte(text)); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
