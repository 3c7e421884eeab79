package api_test

import (
	"bytes"
	"context"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/firmware"
	"github.com/packbench/packbench/firmware/firmwaretest"
	"github.com/packbench/packbench/queue"
)

// fwStore is the daemon's adapter: the store with an HTTP client.
type fwStore struct {
	*firmware.Store
	client *http.Client
}

func (f fwStore) ApplyURL(ctx context.Context, url string, sig []byte) (firmware.Result, error) {
	return f.Store.ApplyURL(ctx, f.client, url, sig)
}

var _ api.Firmware = fwStore{}

func firmwareBench(t *testing.T) (*bench, *firmware.Store, string, []byte, func(m firmware.Manifest, bin []byte) firmware.Bundle) {
	pub, priv := firmwaretest.Key(t)
	dir := filepath.Join(t.TempDir(), "firmware")
	space := func(string) (queue.Space, error) { return queue.Space{Free: 1 << 40, Total: 2 << 40}, nil }
	store := firmware.Open(dir, &firmware.Options{Key: &pub, Running: "1.0.0", Space: space})
	rel := func(m firmware.Manifest, bin []byte) firmware.Bundle { return firmwaretest.Release(t, priv, m, bin) }
	return newBench(t, &benchOptions{firmware: fwStore{Store: store}}), store, dir, nil, rel
}

// upload is a multipart body with the parts in order.
func upload(t *testing.T, parts ...[2]string) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		w, err := mw.CreateFormFile(p[0], p[0])
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(p[1]))
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func bundleParts(t *testing.T, b firmware.Bundle) [][2]string {
	rc, _ := b.Binary()
	bin, _ := io.ReadAll(rc)
	return [][2]string{{"manifest", string(b.Manifest)}, {"manifest_signature", string(b.ManifestSig)},
		{"binary_signature", string(b.BinarySig)}, {"binary", string(bin)}}
}

func TestFirmwareUpload(t *testing.T) {
	b, store, _, _, rel := firmwareBench(t)
	ct, body := upload(t, bundleParts(t, rel(firmware.Manifest{Version: "1.1.0"}, []byte("binary 1.1.0")))...)
	a := b.do("POST", "/api/v1/firmware", body, "Content-Type", ct)
	var applied api.FirmwareApplied
	if a.status != http.StatusAccepted {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	a.decode(t, &applied)
	if applied.Version != "1.1.0" || !applied.Restarting {
		t.Fatalf("answer %+v", applied)
	}
	var st api.FirmwareStatus
	b.ok("GET", "/api/v1/firmware", nil, &st)
	if st.Running != "v0.0.0-test" || st.Current != "1.1.0" || st.Pending == nil || st.Pending.Version != "1.1.0" {
		t.Fatalf("status %+v", st)
	}
	if s2, _ := store.Status(); s2.Current != "1.1.0" {
		t.Fatalf("store %+v", s2)
	}
	// A second one while 1.1.0 is pending: 409.
	ct, body = upload(t, bundleParts(t, rel(firmware.Manifest{Version: "1.2.0"}, []byte("binary 1.2.0")))...)
	b.do("POST", "/api/v1/firmware", body, "Content-Type", ct).wantError(t, http.StatusConflict, api.CodeConflict, "")
}

func TestFirmwareUploadRefusals(t *testing.T) {
	cases := []struct {
		name   string
		parts  func(rel func(firmware.Manifest, []byte) firmware.Bundle) [][2]string
		status int
		code   string
		field  string
	}{
		{"tampered binary", func(rel func(firmware.Manifest, []byte) firmware.Bundle) [][2]string {
			p := bundleParts(t, rel(firmware.Manifest{Version: "1.1.0"}, []byte("binary 1.1.0")))
			p[3][1] = "binary 1.1.X"
			return p
		}, http.StatusUnprocessableEntity, api.CodeFirmwareRefused, ""},
		{"truncated binary", func(rel func(firmware.Manifest, []byte) firmware.Bundle) [][2]string {
			p := bundleParts(t, rel(firmware.Manifest{Version: "1.1.0"}, []byte("binary 1.1.0")))
			p[3][1] = "binary"
			return p
		}, http.StatusUnprocessableEntity, api.CodeFirmwareRefused, ""},
		{"older than min_version", func(rel func(firmware.Manifest, []byte) firmware.Bundle) [][2]string {
			return bundleParts(t, rel(firmware.Manifest{Version: "1.1.0", MinVersion: "1.2.0"}, []byte("binary 1.1.0")))
		}, http.StatusUnprocessableEntity, api.CodeFirmwareRefused, ""},
		{"another platform", func(rel func(firmware.Manifest, []byte) firmware.Bundle) [][2]string {
			return bundleParts(t, rel(firmware.Manifest{Version: "1.1.0", Target: firmware.Target{OS: "plan9", Arch: "386"}}, []byte("binary 1.1.0")))
		}, http.StatusUnprocessableEntity, api.CodeFirmwareRefused, ""},
		{"binary first", func(rel func(firmware.Manifest, []byte) firmware.Bundle) [][2]string {
			p := bundleParts(t, rel(firmware.Manifest{Version: "1.1.0"}, []byte("binary 1.1.0")))
			return [][2]string{p[3], p[0], p[1], p[2]}
		}, http.StatusBadRequest, api.CodeInvalidField, "manifest"},
		{"no binary", func(rel func(firmware.Manifest, []byte) firmware.Bundle) [][2]string {
			return bundleParts(t, rel(firmware.Manifest{Version: "1.1.0"}, []byte("binary 1.1.0")))[:3]
		}, http.StatusBadRequest, api.CodeInvalidField, "binary"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, _, dir, _, rel := firmwareBench(t)
			before := firmwaretest.Snapshot(t, dir)
			ct, body := upload(t, c.parts(rel)...)
			b.do("POST", "/api/v1/firmware", body, "Content-Type", ct).wantError(t, c.status, c.code, c.field)
			if after := firmwaretest.Snapshot(t, dir); !maps.Equal(before, after) {
				t.Fatalf("disk changed: %v -> %v", before, after)
			}
		})
	}
}

func TestFirmwareByURL(t *testing.T) {
	_, store, _, _, rel := firmwareBench(t)
	bin := []byte("binary 1.1.0 by url")
	rb := rel(firmware.Manifest{Version: "1.1.0"}, bin)
	files := map[string][]byte{"/r/manifest.json": rb.Manifest, "/r/packbenchd": bin, "/r/packbenchd.minisig": rb.BinarySig}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f, ok := files[r.URL.Path]; ok {
			w.Write(f)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	b2 := newBench(t, &benchOptions{firmware: fwStore{Store: store, client: srv.Client()}})
	b2.do("POST", "/api/v1/firmware", map[string]string{"url": strings.Replace(srv.URL, "https", "http", 1) + "/r/manifest.json"}).
		wantError(t, http.StatusBadRequest, api.CodeInvalidField, "url")
	a := b2.do("POST", "/api/v1/firmware", map[string]string{"url": srv.URL + "/r/manifest.json", "signature": string(rb.ManifestSig)})
	if a.status != http.StatusAccepted {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	if st, _ := store.Status(); st.Current != "1.1.0" {
		t.Fatalf("store %+v", st)
	}
	// Without a key: 401.
	b2.do("GET", "/api/v1/firmware", nil, "Authorization", "").wantError(t, http.StatusUnauthorized, api.CodeUnauthorized, "")
}

func TestFirmwareUnavailable(t *testing.T) {
	b := newBench(t, nil)
	b.do("GET", "/api/v1/firmware", nil).wantError(t, http.StatusServiceUnavailable, api.CodeUnavailable, "")
}

// TestFirmwareUploadOverMaxBody: a binary is larger than the API's 1 MiB
// body limit, which every other route keeps.
func TestFirmwareUploadOverMaxBody(t *testing.T) {
	b, _, _, _, rel := firmwareBench(t)
	ct, body := upload(t, bundleParts(t, rel(firmware.Manifest{Version: "1.1.0"}, bytes.Repeat([]byte{0x7f}, 3<<20)))...)
	if a := b.do("POST", "/api/v1/firmware", body, "Content-Type", ct); a.status != http.StatusAccepted {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	b.do("POST", "/api/v1/orders", body, "Content-Type", "application/json").wantError(t, http.StatusRequestEntityTooLarge, api.CodeBodyTooLarge, "")
}
