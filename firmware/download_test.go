package firmware_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packbench/packbench/firmware"
	"github.com/packbench/packbench/firmware/firmwaretest"
)

// releaseServer serves a release over TLS. The first binary request is
// cut after half the bytes when cut is set.
type releaseServer struct {
	files  map[string][]byte
	mu     sync.Mutex
	cut    bool
	ranges []string
}

func (rs *releaseServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, ok := rs.files[strings.TrimPrefix(r.URL.Path, "/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.URL.Path == "/bin/packbenchd" {
		rs.mu.Lock()
		rs.ranges = append(rs.ranges, r.Header.Get("Range"))
		cut := rs.cut
		rs.cut = false
		rs.mu.Unlock()
		if cut {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body[:len(body)/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func serveRelease(t *testing.T, b firmware.Bundle, bin []byte) (*releaseServer, *httptest.Server) {
	rs := &releaseServer{files: map[string][]byte{
		"rel/manifest.json": b.Manifest, "rel/manifest.json.minisig": b.ManifestSig,
		"bin/packbenchd": bin, "bin/packbenchd.minisig": b.BinarySig,
	}}
	srv := httptest.NewTLSServer(rs)
	t.Cleanup(srv.Close)
	return rs, srv
}

func TestDownloadResumesAndApplies(t *testing.T) {
	s, dir, pub, priv := installed(t)
	ev := &events{}
	s = newStore(t, dir, pub, ev)
	bin := bytes.Repeat([]byte("new binary "), 5000)
	rs, srv := serveRelease(t, firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.1.0", URL: "../bin/packbenchd"}, bin), bin)
	rs.cut = true
	before := firmwaretest.Snapshot(t, dir)
	_, err := s.ApplyURL(context.Background(), srv.Client(), srv.URL+"/rel/manifest.json", nil)
	if !errors.Is(err, firmware.ErrDownload) {
		t.Fatalf("cut download: %v, want ErrDownload", err)
	}
	after := firmwaretest.Snapshot(t, dir)
	for k := range after {
		if strings.HasPrefix(k, "staging/") {
			delete(after, k) // the part kept for resuming
		}
	}
	if !maps.Equal(before, after) {
		t.Fatalf("a cut download changed the installation:\nbefore %v\nafter  %v", before, after)
	}
	if _, err := s.ApplyURL(context.Background(), srv.Client(), srv.URL+"/rel/manifest.json", nil); err != nil {
		t.Fatal(err)
	}
	if len(rs.ranges) != 2 || rs.ranges[0] != "" || rs.ranges[1] != "bytes="+strconv.Itoa(len(bin)/2)+"-" {
		t.Fatalf("binary requests' Range headers: %q", rs.ranges)
	}
	boot, err := s.BootCheck()
	if err != nil || boot.Version != "1.1.0" || !boot.Pending {
		t.Fatalf("boot %+v, %v", boot, err)
	}
	var progressed bool
	for _, e := range ev.got {
		progressed = progressed || e.Type == "progress" && e.Done == e.Total && e.Total == int64(len(bin))
	}
	if !progressed {
		t.Fatalf("no complete progress event: %+v", ev.got)
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, "staging", "*")); len(entries) != 0 {
		t.Fatalf("staging left: %v", entries)
	}
}

func TestDownloadRefusals(t *testing.T) {
	bin := []byte("some binary")
	cases := map[string]func(t *testing.T, b *firmware.Bundle, rs *releaseServer) error{
		"wrong key": func(t *testing.T, b *firmware.Bundle, rs *releaseServer) error { return firmware.ErrSignature },
		"tampered binary": func(t *testing.T, b *firmware.Bundle, rs *releaseServer) error {
			rs.files["bin/packbenchd"] = []byte("some binarY")
			return firmware.ErrDigest
		},
		"longer binary": func(t *testing.T, b *firmware.Bundle, rs *releaseServer) error {
			rs.files["bin/packbenchd"] = []byte("some binary and more")
			return firmware.ErrDigest
		},
	}
	for name, prep := range cases {
		t.Run(name, func(t *testing.T) {
			s, dir, _, priv := installed(t)
			if name == "wrong key" {
				_, priv = firmwaretest.Key(t)
			}
			b := firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.1.0", URL: "../bin/packbenchd"}, bin)
			rs, srv := serveRelease(t, b, bin)
			want := prep(t, &b, rs)
			before := firmwaretest.Snapshot(t, dir)
			if _, err := s.ApplyURL(context.Background(), srv.Client(), srv.URL+"/rel/manifest.json", nil); !errors.Is(err, want) {
				t.Fatalf("ApplyURL = %v, want %v", err, want)
			}
			if after := firmwaretest.Snapshot(t, dir); !maps.Equal(before, after) {
				t.Fatalf("disk changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
	t.Run("plain http", func(t *testing.T) {
		s, _, _, _ := installed(t)
		srv := httptest.NewServer(http.NotFoundHandler())
		defer srv.Close()
		if _, err := s.ApplyURL(context.Background(), srv.Client(), srv.URL+"/m.json", nil); err == nil || !strings.Contains(err.Error(), "https") {
			t.Fatalf("http URL: %v", err)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		s, _, _, priv := installed(t)
		_, srv := serveRelease(t, firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.1.0"}, bin), bin)
		if _, err := s.ApplyURL(context.Background(), nil, srv.URL+"/rel/manifest.json", nil); !errors.Is(err, firmware.ErrDownload) {
			t.Fatalf("self-signed server with the default client: %v", err)
		}
	})
}
