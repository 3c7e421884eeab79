package firmware_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/packbench/packbench/firmware"
	"github.com/packbench/packbench/firmware/firmwaretest"
	"github.com/packbench/packbench/internal/clocktest"
)

// certPair makes a CA and a server certificate for 127.0.0.1 that starts
// at notBefore.
func certPair(t *testing.T, notBefore time.Time) (*x509.CertPool, tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "releases"},
		NotBefore: notBefore, NotAfter: notBefore.Add(30 * 24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestDownloadBeforeClockIsSet: a bench whose clock is not set yet (1970)
// still fetches an update from a server whose certificate its clock calls
// not yet valid, with the chain and name verified; a bench with a set
// clock refuses that certificate, and an unknown CA is refused either way.
func TestDownloadBeforeClockIsSet(t *testing.T) {
	// Valid from tomorrow: the real clock of this test is "behind".
	pool, cert := certPair(t, time.Now().Add(24*time.Hour))
	otherPool, _ := certPair(t, time.Now().Add(24*time.Hour))
	pub, priv := firmwaretest.Key(t)
	bin := []byte("binary over tls")
	rb := firmwaretest.Release(t, priv, firmware.Manifest{Version: "1.1.0"}, bin)
	files := map[string][]byte{"/manifest.json": rb.Manifest, "/manifest.json.minisig": rb.ManifestSig, "/packbenchd": bin, "/packbenchd.minisig": rb.BinarySig}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	defer srv.Close()
	client := func(p *x509.CertPool) *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p}}}
	}
	store := func(now time.Time) *firmware.Store {
		return firmware.Open(filepath.Join(t.TempDir(), "firmware"), &firmware.Options{Key: &pub, Space: bigDisk, Clock: clocktest.NewClock(now)})
	}
	unset, set := time.Unix(0, 0), time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

	if _, err := store(set).ApplyURL(context.Background(), client(pool), srv.URL+"/manifest.json", nil); !errors.Is(err, firmware.ErrDownload) {
		t.Fatalf("set clock, certificate not yet valid: %v, want ErrDownload", err)
	}
	if _, err := store(unset).ApplyURL(context.Background(), client(otherPool), srv.URL+"/manifest.json", nil); !errors.Is(err, firmware.ErrDownload) {
		t.Fatalf("unset clock, unknown CA: %v, want ErrDownload", err)
	}
	s := store(unset)
	if _, err := s.ApplyURL(context.Background(), client(pool), srv.URL+"/manifest.json", nil); err != nil {
		t.Fatalf("unset clock: %v", err)
	}
	if st, _ := s.Status(); st.Current != "1.1.0" {
		t.Fatalf("status %+v", st)
	}
}
