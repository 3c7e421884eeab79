package api

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/packbench/packbench/internal/textcheck"
	"github.com/packbench/packbench/queue"
)

// Print tokens are the credential a browser app holds (QZ Tray's use):
// with one a page can POST /api/v1/print and read the jobs it printed,
// nothing else. The admin makes them with the API key; the file keeps
// only their SHA-256, so the token is shown once, at creation.
const (
	kindPrintTokens   = "api-print-tokens"    // hex sha256(token) → printToken
	kindPrintTokenIDs = "api-print-token-ids" // token id → hex sha256(token)
	// PrintTokenPrefix starts every print token, so a log or a leak
	// says what it is.
	PrintTokenPrefix = "pbt_"
	printTokenBytes  = 24
	maxTokenName     = 128
	pathJobs         = prefix + "/jobs"
)

// PrintToken is a print-only token as listed (never the token itself).
type PrintToken struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Created time.Time `json:"created_at"`
	// Token is set only in the answer that created it.
	Token string `json:"token,omitempty"`
}

type printTokenBody struct {
	Name string `json:"name"` // what uses it ("shipping web app")
}

type printTokenList struct {
	Tokens []PrintToken `json:"tokens"`
}

// caller is who a request authenticated as: its scope (Idempotency-Keys
// and API print jobs are kept apart per credential) and, for a print
// token, the token's id.
type caller struct {
	scope string
	token string // print token id; "" for the API key
}

type callerKey struct{}

func withCaller(ctx context.Context, c caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

func callerOf(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c
}

// authPrint accepts the API key or a print token.
func (s *Server) authPrint(r *http.Request, queryOK bool) (caller, *apiError) {
	digest, ae := s.authKey(r, queryOK)
	if ae == nil {
		return caller{scope: idemScope(digest)}, nil
	}
	cred, _ := credential(r, queryOK) // a malformed header failed authKey above
	if !strings.HasPrefix(cred, PrintTokenPrefix) {
		return caller{}, ae
	}
	sum := sha256.Sum256([]byte(cred))
	b, err := s.deps.Queue.GetRecord(r.Context(), kindPrintTokens, hex.EncodeToString(sum[:]))
	if errors.Is(err, queue.ErrNotFound) {
		return caller{}, errorf(http.StatusUnauthorized, CodeUnauthorized, "print token not accepted")
	}
	if err != nil {
		s.log.Error("api: check print token", "err", err)
		return caller{}, errorf(http.StatusServiceUnavailable, CodeUnavailable, "cannot check the token now")
	}
	var t PrintToken
	if err := json.Unmarshal(b, &t); err != nil {
		s.log.Error("api: print token record", "err", err)
		return caller{}, errorf(http.StatusServiceUnavailable, CodeUnavailable, "cannot check the token now")
	}
	return caller{scope: idemScope(sum), token: t.ID}, nil
}

func (s *Server) createPrintToken(w http.ResponseWriter, r *http.Request) error {
	var body printTokenBody
	if err := s.decodeJSON(w, r, &body, false); err != nil {
		return err
	}
	if err := textcheck.Text(body.Name, maxTokenName); err != nil || body.Name == "" {
		return fieldError("name", "want 1 to %d characters of text", maxTokenName)
	}
	var raw [printTokenBytes]byte
	var idb [8]byte
	rand.Read(raw[:])
	rand.Read(idb[:])
	t := PrintToken{ID: "pt_" + hex.EncodeToString(idb[:]), Name: body.Name, Created: s.opt.Clock.Now().UTC()}
	tok := PrintTokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(tok))
	rec, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if err := s.deps.Queue.Update(func(tx *queue.Tx) error {
		if err := tx.PutRecord(kindPrintTokens, hex.EncodeToString(sum[:]), rec); err != nil {
			return err
		}
		return tx.PutRecord(kindPrintTokenIDs, t.ID, []byte(hex.EncodeToString(sum[:])))
	}); err != nil {
		return fmt.Errorf("api: create print token: %w", err)
	}
	t.Token = tok
	w.Header().Set("Location", prefix+"/print-tokens/"+t.ID)
	writeJSON(w, http.StatusCreated, t)
	return nil
}

func (s *Server) listPrintTokens(w http.ResponseWriter, r *http.Request) error {
	out := printTokenList{Tokens: []PrintToken{}}
	err := s.deps.Queue.View(func(tx *queue.Tx) error {
		recs, err := tx.ListRecords(kindPrintTokens, queue.RecordPage{})
		for _, rec := range recs {
			var t PrintToken
			if json.Unmarshal(rec.Value, &t) == nil {
				out.Tokens = append(out.Tokens, t)
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("api: list print tokens: %w", err)
	}
	slices.SortFunc(out.Tokens, func(a, b PrintToken) int { return a.Created.Compare(b.Created) })
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deletePrintToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var t PrintToken
	err = s.deps.Queue.Update(func(tx *queue.Tx) error {
		digest, err := tx.GetRecord(kindPrintTokenIDs, id)
		if err != nil {
			return err
		}
		b, err := tx.GetRecord(kindPrintTokens, string(digest))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &t); err != nil {
			return err
		}
		if err := tx.DeleteRecord(kindPrintTokens, string(digest)); err != nil {
			return err
		}
		return tx.DeleteRecord(kindPrintTokenIDs, id)
	})
	if errors.Is(err, queue.ErrNotFound) {
		return errorf(http.StatusNotFound, CodeNotFound, "no print token %q", id)
	}
	if err != nil {
		return fmt.Errorf("api: delete print token: %w", err)
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// callerJob reads a job the caller may see: a print token sees only the
// jobs it printed (any other is not found, so ids do not leak).
func (s *Server) callerJob(r *http.Request) (queue.Job, error) {
	id, err := pathJobID(r)
	if err != nil {
		return queue.Job{}, err
	}
	j, err := s.deps.Queue.Job(r.Context(), id)
	if err != nil {
		return queue.Job{}, err
	}
	if c := callerOf(r.Context()); c.token != "" && !ownsJob(c, j) {
		return queue.Job{}, errorf(http.StatusNotFound, CodeNotFound, "job %s: not found", id)
	}
	return j, nil
}

// deleteJob cancels a job that has not printed (DELETE /api/v1/jobs/{id}).
func (s *Server) deleteJob(w http.ResponseWriter, r *http.Request) error {
	return s.jobAction((*queue.DB).Cancel)(w, r)
}

// jobDone says whether a job's stream has nothing more to tell: the
// worker is done with it (an operator may still retry it: a new stream
// follows that).
func jobDone(st queue.State) bool {
	switch st {
	case queue.StatePrinted, queue.StateSent, queue.StateFailed, queue.StateCancelled:
		return true
	}
	return false
}

// EventJobState is the event of GET /api/v1/jobs/{id}/events: the whole
// job (with its history) after each change.
const EventJobState = "state"

// streamJob serves one job's state as Server-Sent Events: the job now,
// then after every change, until the worker is done with it.
func (s *Server) streamJob(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.callerJob(r); err != nil {
		return err
	}
	release, ok := s.takeStream()
	if !ok {
		return errorf(http.StatusServiceUnavailable, CodeTooManyStreams,
			"%d event streams are open, the most this bench serves; poll GET %s/{id} instead", s.opt.MaxStreams, pathJobs)
	}
	defer release()
	// Subscribed before the first read: no change between the two is lost.
	evs, unsub := s.jobs.subscribe()
	defer unsub()
	j, err := s.callerJob(r)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	sw := &sseWriter{bw: bufio.NewWriter(w), rc: http.NewResponseController(w), timeout: s.opt.WriteTimeout}
	if sw.event(EventJobState, j) != nil || jobDone(j.State) {
		return nil
	}
	heartbeat := time.NewTicker(s.opt.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-s.ctx.Done():
			return nil
		case ev, ok := <-evs:
			if !ok {
				return nil
			}
			if ev.JobID != j.ID {
				continue
			}
			if j, err = s.deps.Queue.Job(r.Context(), j.ID); err != nil {
				return nil // the answer has begun: the stream just ends
			}
			if sw.event(EventJobState, j) != nil || jobDone(j.State) {
				return nil
			}
		case <-heartbeat.C:
			if sw.comment("heartbeat") != nil {
				return nil
			}
		}
	}
}

// cors answers browsers: an origin in Options.CORSOrigins may call the
// API (the key or a print token still required), preflights are answered
// here. Any other origin gets no CORS headers, so the browser keeps the
// answers from its page; its preflights and its POST /api/v1/print are
// refused outright (403), so it cannot queue a job even with a request
// the browser does not preflight. Other routes are left to the browser: a
// proxy that rewrites Host would otherwise make the bench's own page look
// foreign. It reports whether the request goes on.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || !strings.HasPrefix(r.URL.Path, prefix+"/") || sameOrigin(origin, r.Host) {
		return true
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	if !slices.Contains(s.opt.CORSOrigins, origin) {
		if !preflight && r.URL.Path != pathPrint {
			return true
		}
		writeAPIError(w, errorf(http.StatusForbidden, CodeOriginNotAllowed, "origin %q may not call this API: add it to [api] cors_origins", origin))
		return false
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Expose-Headers", "Location, "+HeaderReplayed)
	if preflight {
		h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Api-Key, "+HeaderIdempotencyKey)
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return false
	}
	return true
}

// sameOrigin says whether origin is the bench's own (its page).
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}

// ValidOrigin checks an [api] cors_origins entry: scheme://host[:port],
// exactly as a browser sends it in Origin.
func ValidOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil || o != u.Scheme+"://"+u.Host {
		return fmt.Errorf("%q: want scheme://host[:port] as a browser sends it (no path, no trailing slash)", o)
	}
	return nil
}
