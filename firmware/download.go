package firmware

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// defaultClient verifies TLS (the zero tls.Config) and bounds each
// request's headers; the body has no overall deadline, since a large
// binary over a slow link takes its time, and resumes when cut.
var defaultClient = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	TLSHandshakeTimeout:   30 * time.Second,
	ResponseHeaderTimeout: 60 * time.Second,
}}

// Fetch downloads the release whose manifest is at manifestURL (https
// only). sig is the manifest's signature; nil fetches manifestURL +
// ".minisig". The manifest is checked (signature, platform, floor) before
// anything is written; the binary then goes to staging/<sha256>.part,
// bounded by the manifest's size and resumed with a Range request when a
// part is there. The caller passes the Bundle to Apply and then calls
// the returned cleanup.
func (s *Store) Fetch(ctx context.Context, client *http.Client, manifestURL string, sig []byte) (Bundle, func(), error) {
	noop := func() {}
	if client == nil {
		client = defaultClient
	}
	base, err := url.Parse(manifestURL)
	if err != nil || base.Scheme != "https" || base.Host == "" {
		return Bundle{}, noop, fmt.Errorf("firmware: download: want an https URL, got %q", manifestURL)
	}
	var b Bundle
	if b.Manifest, err = s.getSmall(ctx, client, base.String()); err != nil {
		return b, noop, err
	}
	if sig == nil {
		if sig, err = s.getSmall(ctx, client, base.String()+SigSuffix); err != nil {
			return b, noop, err
		}
	}
	b.ManifestSig = sig
	m, err := s.Check(b.Manifest, b.ManifestSig)
	if err != nil {
		s.emit(Event{Type: "refused", Reason: err.Error()})
		return b, noop, err
	}
	ref, err := base.Parse(binaryRef(b.Manifest))
	if err != nil || ref.Scheme != "https" {
		return b, noop, fmt.Errorf("%w: url: want an https binary URL", ErrManifest)
	}
	if b.BinarySig, err = s.getSmall(ctx, client, ref.String()+SigSuffix); err != nil {
		return b, noop, err
	}
	if err := s.checkSpace(m.Size); err != nil {
		s.emit(Event{Type: "refused", Version: m.Version, Reason: err.Error()})
		return b, noop, err
	}
	if err := os.MkdirAll(s.path(stagingDir), 0o755); err != nil {
		return b, noop, fmt.Errorf("firmware: download: %w", err)
	}
	part := s.path(stagingDir, strings.ToLower(m.SHA256)+".part")
	cleanup := func() { os.Remove(part) }
	if err := s.download(ctx, client, ref.String(), part, m); err != nil {
		return b, noop, err
	}
	b.Binary = func() (io.ReadCloser, error) { return os.Open(part) }
	return b, cleanup, nil
}

// download brings part up to m.Size bytes.
func (s *Store) download(ctx context.Context, client *http.Client, u, part string, m *Manifest) error {
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("firmware: download: %w", err)
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("firmware: download: %w", err)
	}
	if have > m.Size {
		have = 0
	}
	if have == m.Size {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("firmware: download: %w", err)
	}
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := s.do(client, req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrDownload, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0 &&
		strings.HasPrefix(resp.Header.Get("Content-Range"), "bytes "+strconv.FormatInt(have, 10)+"-"):
	case resp.StatusCode == http.StatusOK:
		have = 0 // the server ignored the range: start over
	default:
		return fmt.Errorf("%w: GET %s: %s", ErrDownload, u, resp.Status)
	}
	if err := f.Truncate(have); err != nil {
		return fmt.Errorf("firmware: download: %w", err)
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return fmt.Errorf("firmware: download: %w", err)
	}
	pw := &progress{s: s, version: m.Version, done: have, total: m.Size}
	n, err := io.Copy(io.MultiWriter(f, pw), io.LimitReader(resp.Body, m.Size-have+1))
	if serr := f.Sync(); err == nil {
		err = serr
	}
	got := have + n
	if err != nil || got < m.Size {
		return fmt.Errorf("%w: %d of %d bytes: %v", ErrDownload, got, m.Size, err)
	}
	if got > m.Size {
		os.Remove(part)
		return fmt.Errorf("%w: the server sent more than the manifest's %d bytes", ErrDigest, m.Size)
	}
	return nil
}

// progress reports every tenth of the download.
type progress struct {
	s           *Store
	version     string
	done, total int64
	last        int64
}

func (p *progress) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if step := p.total / 10; step == 0 || p.done-p.last >= step || p.done >= p.total {
		p.last = p.done
		p.s.emit(Event{Type: "progress", Version: p.version, Done: p.done, Total: p.total})
	}
	return len(b), nil
}

func (s *Store) getSmall(ctx context.Context, client *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("firmware: download: %w", err)
	}
	resp, err := s.do(client, req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDownload, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: GET %s: %s", ErrDownload, u, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxManifest+1))
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %w", ErrDownload, u, err)
	}
	if len(b) > maxManifest {
		return nil, fmt.Errorf("firmware: GET %s: longer than %d bytes", u, maxManifest)
	}
	return b, nil
}

// ApplyURL fetches and applies the release at manifestURL.
func (s *Store) ApplyURL(ctx context.Context, client *http.Client, manifestURL string, sig []byte) (Result, error) {
	b, cleanup, err := s.Fetch(ctx, client, manifestURL, sig)
	if err != nil {
		return Result{}, err
	}
	res, err := s.Apply(ctx, b)
	// A verified or refused binary is not needed again; only a cut
	// download is kept to resume.
	cleanup()
	return res, err
}

// ApplyStream applies a release whose binary arrives as a stream (an
// upload): the manifest is checked first, the binary is spooled to
// staging (bounded by the manifest's size), applied, and the spool
// removed whatever the outcome.
func (s *Store) ApplyStream(ctx context.Context, manifest, manifestSig, binarySig []byte, binary io.Reader) (Result, error) {
	m, err := s.Check(manifest, manifestSig)
	if err != nil {
		s.emit(Event{Type: "refused", Reason: err.Error()})
		return Result{}, err
	}
	if err := s.checkSpace(m.Size); err != nil {
		s.emit(Event{Type: "refused", Version: m.Version, Reason: err.Error()})
		return Result{}, err
	}
	// A refused upload leaves nothing: the directories made for its spool
	// go again when empty.
	if _, err := os.Stat(s.dir); os.IsNotExist(err) {
		defer os.Remove(s.dir)
	}
	defer os.Remove(s.path(stagingDir))
	if err := os.MkdirAll(s.path(stagingDir), 0o755); err != nil {
		return Result{}, fmt.Errorf("firmware: upload: %w", err)
	}
	spool := s.path(stagingDir, strings.ToLower(m.SHA256)+".upload")
	defer os.Remove(spool)
	f, err := os.OpenFile(spool, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return Result{}, fmt.Errorf("firmware: upload: %w", err)
	}
	_, err = io.Copy(f, io.LimitReader(binary, m.Size+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Result{}, fmt.Errorf("firmware: upload: %w", err)
	}
	// Apply checks the size, digest and signature of what arrived.
	return s.Apply(ctx, Bundle{Manifest: manifest, ManifestSig: manifestSig, BinarySig: binarySig,
		Binary: func() (io.ReadCloser, error) { return os.Open(spool) }})
}

// clockFloor is a date before any release: a clock before it is not set
// yet (a Pi without RTC starts at 1970 until NTP sets it).
var clockFloor = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// do sends req. While the clock is not set, a certificate refused only
// for its dates is verified again, chain and name as usual, as of its
// own start: a bench that boots without time must still fetch an update.
// The release's signature, not TLS, is what makes it trusted.
func (s *Store) do(client *http.Client, req *http.Request) (*http.Response, error) {
	resp, err := client.Do(req)
	var cie x509.CertificateInvalidError
	if err == nil || !errors.As(err, &cie) || cie.Reason != x509.Expired || cie.Cert == nil || !s.now().Before(clockFloor) {
		return resp, err
	}
	tr, ok := client.Transport.(*http.Transport)
	if client.Transport == nil {
		tr, ok = http.DefaultTransport.(*http.Transport)
	}
	if !ok {
		return nil, err
	}
	t2 := tr.Clone()
	if t2.TLSClientConfig == nil {
		t2.TLSClientConfig = &tls.Config{}
	}
	at := cie.Cert.NotBefore.Add(time.Minute)
	t2.TLSClientConfig.Time = func() time.Time { return at }
	c2 := *client
	c2.Transport = t2
	defer t2.CloseIdleConnections()
	return c2.Do(req.Clone(req.Context()))
}
