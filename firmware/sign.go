package firmware

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"aead.dev/minisign"
)

// SigSuffix is appended to a signed file's name for its signature, as
// minisign does.
const SigSuffix = ".minisig"

// ParsePublicKey reads a minisign public key: the file's text (with its
// untrusted comment line) or the bare base64 line.
func ParsePublicKey(text []byte) (minisign.PublicKey, error) {
	var k minisign.PublicKey
	if err := k.UnmarshalText(bytes.TrimSpace(text)); err != nil {
		return k, fmt.Errorf("firmware: public key: %w", err)
	}
	return k, nil
}

// LoadPublicKey reads a minisign public key file.
func LoadPublicKey(path string) (minisign.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return minisign.PublicKey{}, fmt.Errorf("firmware: public key: %w", err)
	}
	return ParsePublicKey(b)
}

// LoadPrivateKey reads a password-less minisign secret key (ours, or
// Debian's `minisign -G -W`). Encrypted keys are refused with a hint.
func LoadPrivateKey(path string) (minisign.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return minisign.PrivateKey{}, fmt.Errorf("firmware: secret key: %w", err)
	}
	if minisign.IsEncrypted(b) {
		return minisign.PrivateKey{}, fmt.Errorf("firmware: secret key %s is password-protected: sign with minisign -S, or make a key with minisign -G -W", path)
	}
	var k minisign.PrivateKey
	if err := k.UnmarshalText(bytes.TrimSpace(b)); err != nil {
		return k, fmt.Errorf("firmware: secret key %s: %w", path, err)
	}
	return k, nil
}

// Keygen writes prefix.pub and prefix.key (mode 0600, not encrypted), and
// refuses to overwrite either.
func Keygen(prefix string) (minisign.PublicKey, error) {
	pub, priv, err := minisign.GenerateKey(nil)
	if err != nil {
		return pub, fmt.Errorf("firmware: keygen: %w", err)
	}
	privText, err := marshalPrivateKey(priv)
	if err != nil {
		return pub, err
	}
	pubText, _ := pub.MarshalText()
	if err := writeNew(prefix+".key", privText, 0o600); err != nil {
		return pub, err
	}
	if err := writeNew(prefix+".pub", append(pubText, '\n'), 0o644); err != nil {
		os.Remove(prefix + ".key")
		return pub, err
	}
	return pub, nil
}

// marshalPrivateKey writes the key in minisign's password-less format,
// byte for byte what `minisign -G -W` writes (its checksum left zero).
func marshalPrivateKey(k minisign.PrivateKey) ([]byte, error) {
	text, err := k.MarshalText()
	if err != nil {
		return nil, fmt.Errorf("firmware: keygen: %w", err)
	}
	return append(text, '\n'), nil
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	if err := writeSynced(path, os.O_EXCL, data, mode); err != nil {
		return fmt.Errorf("firmware: keygen: %w", err)
	}
	return nil
}

// Sign signs r's content, pre-hashed (minisign's default since 0.8, so
// `minisign -V` checks it and large binaries need no memory), with a
// trusted comment naming the file as minisign does.
func Sign(k minisign.PrivateKey, r io.Reader, name string) ([]byte, error) {
	mr := minisign.NewReader(r)
	if _, err := io.Copy(io.Discard, mr); err != nil {
		return nil, fmt.Errorf("firmware: sign: %w", err)
	}
	trusted := "file:" + name + "\thashed"
	untrusted := "signature from packbench secret key " + strings.ToUpper(strconv.FormatUint(k.ID(), 16))
	return mr.SignWithComments(k, trusted, untrusted), nil
}

// SignFile writes path.minisig.
func SignFile(k minisign.PrivateKey, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("firmware: sign: %w", err)
	}
	defer f.Close()
	name := path
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	sig, err := Sign(k, f, name)
	if err != nil {
		return err
	}
	return os.WriteFile(path+SigSuffix, sig, 0o644)
}

// Verifier checks content against a signature as it is read. It accepts
// minisign's pre-hashed signatures (ED, the default) and legacy ones
// (Ed, `minisign -l`), which need the whole message: those are kept in
// memory up to limit bytes.
type Verifier struct {
	key    minisign.PublicKey
	sig    []byte
	legacy bool
	hashed *minisign.Reader
	feed   *feed
	buf    bytes.Buffer
	limit  int64
}

// NewVerifier parses sig and returns a Verifier for content of at most
// limit bytes.
func NewVerifier(key minisign.PublicKey, sig []byte, limit int64) (*Verifier, error) {
	var s minisign.Signature
	if err := s.UnmarshalText(sig); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	if s.KeyID != key.ID() {
		return nil, fmt.Errorf("%w: signed by key %X, trusted key is %X", ErrSignature, s.KeyID, key.ID())
	}
	v := &Verifier{key: key, sig: sig, limit: limit}
	switch s.Algorithm {
	case minisign.HashEdDSA:
		v.feed = &feed{}
		v.hashed = minisign.NewReader(v.feed)
	case minisign.EdDSA:
		v.legacy = true
	default:
		return nil, fmt.Errorf("%w: unknown algorithm %#x", ErrSignature, s.Algorithm)
	}
	return v, nil
}

// Write feeds content.
func (v *Verifier) Write(p []byte) (int, error) {
	if v.legacy {
		if int64(v.buf.Len()+len(p)) > v.limit {
			return 0, fmt.Errorf("%w: content longer than %d bytes", ErrDigest, v.limit)
		}
		return v.buf.Write(p)
	}
	// minisign.Reader hashes what it reads from its source: hand it p.
	v.feed.p = p
	_, err := io.Copy(io.Discard, v.hashed)
	return len(p), err
}

// feed is a source whose bytes are handed over one Write at a time.
type feed struct{ p []byte }

func (f *feed) Read(b []byte) (int, error) {
	if len(f.p) == 0 {
		return 0, io.EOF
	}
	n := copy(b, f.p)
	f.p = f.p[n:]
	return n, nil
}

// Valid reports whether everything written verifies.
func (v *Verifier) Valid() bool {
	if v.legacy {
		return minisign.Verify(v.key, v.buf.Bytes(), v.sig)
	}
	return v.hashed.Verify(v.key, v.sig)
}

// VerifyFile checks path against path.minisig (or sigPath when set).
func VerifyFile(key minisign.PublicKey, path, sigPath string) error {
	if sigPath == "" {
		sigPath = path + SigSuffix
	}
	sig, err := os.ReadFile(sigPath)
	if err != nil {
		return fmt.Errorf("firmware: verify: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("firmware: verify: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("firmware: verify: %w", err)
	}
	v, err := NewVerifier(key, sig, st.Size())
	if err != nil {
		return err
	}
	if _, err := io.Copy(v, f); err != nil {
		return fmt.Errorf("firmware: verify %s: %w", path, err)
	}
	if !v.Valid() {
		return fmt.Errorf("%w: %s", ErrSignature, path)
	}
	return nil
}
