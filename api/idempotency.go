package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/packbench/packbench/queue"
)

// Idempotency-Key: every create (a route whose opDoc says idempotent)
// accepts the header. The first successful (2xx) answer to a key is kept
// in the data file, scoped to the caller's API key, for the retention
// (Options.IdempotencyRetention, default 24 h):
//
//   - the same key with the same request (method, path and body, JSON
//     whitespace aside) gets that answer again, byte for byte, with
//     Idempotent-Replayed: true, and nothing is created again;
//   - the same key with another request gets 409 idempotency_key_reused;
//   - a second request with a key whose first request is still running
//     waits for it and then gets its answer (or, if that one failed, runs
//     itself): one executes, never both.
//
// Errors are not kept: a request that failed (a 4xx or a 5xx) may be sent
// again with the same key once the cause is fixed. The record is written
// just after the create commits, so a power cut between the two lets one
// retry run again; shipments with a package reference and orders with an
// id are safe even then (the station refuses or returns the same one).
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderReplayed       = "Idempotent-Replayed"
	// MaxIdempotencyKeyLen bounds a key; it is 1 to 255 printable ASCII
	// characters (space to tilde).
	MaxIdempotencyKeyLen        = 255
	DefaultIdempotencyRetention = 24 * time.Hour
)

// Record kinds in the queue file.
const (
	kindIdem     = "api-idempotency"      // scope hex "/" key → idemRecord
	kindIdemTime = "api-idempotency-time" // %020d unix ns "/" record key → "", for Housekeep
)

// idemRecord is a kept answer.
type idemRecord struct {
	Fingerprint string    `json:"fingerprint"` // hex SHA-256 of method, path, body
	Method      string    `json:"method"`
	Path        string    `json:"path"`
	Created     time.Time `json:"created"`
	Status      int       `json:"status"`
	Location    string    `json:"location,omitempty"`
	ContentType string    `json:"content_type,omitempty"`
	Body        []byte    `json:"body"`
}

// idemScope derives the key space of one API key from its digest, so two
// integrators never share keys and the file holds no digest of a key.
func idemScope(keyDigest [sha256.Size]byte) string {
	h := sha256.New()
	h.Write([]byte("packbench idempotency scope\x00"))
	h.Write(keyDigest[:])
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// idempotencyKey reads and checks the header; "" means none was sent.
func idempotencyKey(r *http.Request) (string, error) {
	vs := r.Header.Values(HeaderIdempotencyKey)
	switch {
	case len(vs) == 0:
		return "", nil
	case len(vs) > 1:
		return "", fieldError(HeaderIdempotencyKey, "send one header, not %d", len(vs))
	}
	k := vs[0]
	if k == "" || len(k) > MaxIdempotencyKeyLen {
		return "", fieldError(HeaderIdempotencyKey, "want 1 to %d characters, got %d", MaxIdempotencyKeyLen, len(k))
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return "", fieldError(HeaderIdempotencyKey, "want printable ASCII only (byte %d is 0x%02x)", i, k[i])
		}
	}
	return k, nil
}

// fingerprint is the canonical request: method, path and body, the body
// compacted when it is JSON (so a re-indented retry is the same request).
func fingerprint(r *http.Request, body []byte) string {
	var c bytes.Buffer
	if json.Compact(&c, body) == nil {
		body = c.Bytes()
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%d\n", r.Method, r.URL.EscapedPath(), len(body))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// idempotent runs h at most once per Idempotency-Key of the caller (scope)
// and replays its first successful answer; without the header it just
// runs h.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, scope string, h handlerFunc) error {
	key, err := idempotencyKey(r)
	if err != nil || key == "" {
		if err != nil {
			return err
		}
		return h(w, r)
	}
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		if body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, s.opt.MaxBody)); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return toAPIError(err)
			}
			return errorf(http.StatusBadRequest, CodeInvalidJSON, "reading the request body: %v", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	fp := fingerprint(r, body)
	recKey := scope + "/" + key

	release, err := s.idemFlight.enter(r.Context(), recKey)
	if err != nil {
		return err
	}
	defer release()

	rec, found, err := s.idemLookup(r.Context(), recKey)
	if err != nil {
		return err
	}
	if found {
		if rec.Fingerprint != fp {
			return &apiError{Status: http.StatusConflict, Code: CodeIdempotencyKeyReused, Field: HeaderIdempotencyKey,
				Message: fmt.Sprintf("Idempotency-Key was used for another request (%s %s) in the last %s: use a new key for a new request",
					rec.Method, rec.Path, s.opt.IdempotencyRetention)}
		}
		replay(w, rec)
		return nil
	}

	rw := &answerRecorder{h: http.Header{}}
	if err := h(rw, r); err != nil {
		return err
	}
	if rw.code/100 == 2 {
		rec := idemRecord{Fingerprint: fp, Method: r.Method, Path: r.URL.EscapedPath(), Created: s.opt.Clock.Now().UTC(),
			Status: rw.code, Location: rw.h.Get("Location"), ContentType: rw.h.Get("Content-Type"), Body: rw.body.Bytes()}
		if err := s.idemStore(recKey, rec); err != nil {
			// The create is committed: answer it. A retry runs again.
			s.log.Error("api: keeping the answer of an Idempotency-Key", "route", r.Pattern, "err", err)
		}
	}
	for k, v := range rw.h {
		w.Header()[k] = v
	}
	w.WriteHeader(rw.code)
	w.Write(rw.body.Bytes())
	return nil
}

func replay(w http.ResponseWriter, rec idemRecord) {
	h := w.Header()
	if rec.ContentType != "" {
		h.Set("Content-Type", rec.ContentType)
	}
	if rec.Location != "" {
		h.Set("Location", rec.Location)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set(HeaderReplayed, "true")
	w.WriteHeader(rec.Status)
	w.Write(rec.Body)
}

// idemLookup reads a kept answer; one past the retention is not found.
func (s *Server) idemLookup(ctx context.Context, recKey string) (idemRecord, bool, error) {
	var rec idemRecord
	b, err := s.deps.Queue.GetRecord(ctx, kindIdem, recKey)
	if errors.Is(err, queue.ErrNotFound) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, fmt.Errorf("api: idempotency record: %w", err)
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, false, fmt.Errorf("api: idempotency record: decode: %w", err)
	}
	if !rec.Created.Add(s.opt.IdempotencyRetention).After(s.opt.Clock.Now()) {
		return idemRecord{}, false, nil
	}
	return rec, true, nil
}

func (s *Server) idemStore(recKey string, rec idemRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return s.deps.Queue.Update(func(tx *queue.Tx) error {
		if err := tx.PutRecord(kindIdem, recKey, b); err != nil {
			return err
		}
		return tx.PutRecord(kindIdemTime, idemTimeKey(rec.Created, recKey), nil)
	})
}

func idemTimeKey(t time.Time, recKey string) string { return queue.TimeKey(t, recKey) }

// Housekeep deletes the kept answers of Idempotency-Keys older than the
// retention; run it with the daemon's other housekeeping (hourly). It
// returns how many it deleted.
func (s *Server) Housekeep(ctx context.Context) (int, error) {
	cutoff := s.opt.Clock.Now().Add(-s.opt.IdempotencyRetention)
	n, err := s.deps.Queue.ExpireRecords(ctx, kindIdemTime, cutoff, func(tx *queue.Tx, recKey string) (bool, error) {
		// The key may have been taken again after it expired: only the
		// record this entry dates goes.
		b, err := tx.GetRecord(kindIdem, recKey)
		if errors.Is(err, queue.ErrNotFound) {
			return false, nil
		} else if err != nil {
			return false, err
		}
		var rec idemRecord
		if json.Unmarshal(b, &rec) == nil && rec.Created.After(cutoff) {
			return false, nil
		}
		return true, tx.DeleteRecord(kindIdem, recKey)
	})
	if err != nil {
		return n, fmt.Errorf("api: housekeep idempotency keys: %w", err)
	}
	return n, nil
}

// answerRecorder keeps a create's answer so it can be stored before it
// is sent.
type answerRecorder struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (a *answerRecorder) Header() http.Header { return a.h }
func (a *answerRecorder) Write(b []byte) (int, error) {
	if a.code == 0 {
		a.code = http.StatusOK
	}
	return a.body.Write(b)
}
func (a *answerRecorder) WriteHeader(code int) {
	if a.code == 0 {
		a.code = code
	}
}

// inFlight lets one request per key run at a time; the others wait for it
// (or for their own context) and then look for its kept answer.
type inFlight struct {
	mu      sync.Mutex
	running map[string]chan struct{} // closed when the key's request ends
}

// enter waits until no other request runs key, then marks key running;
// release ends that.
func (f *inFlight) enter(ctx context.Context, key string) (release func(), err error) {
	for {
		f.mu.Lock()
		done, busy := f.running[key]
		if !busy {
			if f.running == nil {
				f.running = map[string]chan struct{}{}
			}
			done = make(chan struct{})
			f.running[key] = done
			f.mu.Unlock()
			return func() {
				f.mu.Lock()
				delete(f.running, key)
				f.mu.Unlock()
				close(done)
			}, nil
		}
		f.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
