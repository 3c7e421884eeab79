package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/packbench/packbench/internal/strictjson"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/station"
)

// Errors returned by this package (New); test with errors.Is.
var (
	// ErrConfig: Deps or Options break a rule; the message names the field.
	ErrConfig = errors.New("api: invalid configuration")
)

// Error codes in the JSON error body. Clients switch on these, not on the
// message.
const (
	CodeInvalidJSON      = "invalid_json"
	CodeInvalidField     = "invalid_field"
	CodeUnauthorized     = "unauthorized"
	CodeForbidden        = "forbidden" // a kiosk token on a route that needs the key
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeConflict         = "conflict"
	CodeBodyTooLarge     = "body_too_large"
	CodeUnsupportedMedia = "unsupported_media_type"
	CodeCarrier          = "carrier_error"
	CodeNotSupported     = "not_supported"
	CodeUnavailable      = "unavailable"
	CodeNotSimulated     = "not_simulated"
	CodeNoOrder          = "no_order"
	CodeNotArmed         = "not_armed"
	CodeBusy             = "busy"
	// CodeIdempotencyKeyReused: the Idempotency-Key was used for another
	// request (field "Idempotency-Key").
	CodeIdempotencyKeyReused = "idempotency_key_reused"
	CodeDiskFull             = "disk_full"
	CodeInternal             = "internal"
	CodeHostNotAllowed       = "host_not_allowed"
	CodeTooManyStreams       = "too_many_streams"
	CodeTooManyConns         = "too_many_connections"
	// CodeFirmwareRefused: an update failed verification or may not be
	// installed here (signature, digest, platform, min_version).
	CodeFirmwareRefused  = "firmware_refused"
	CodeURLRefused       = "url_refused"        // a print job's url: slow, huge, failing or not a label
	CodeOriginNotAllowed = "origin_not_allowed" // a browser origin not in [api] cors_origins
)

// apiError is an error with everything the JSON body and status need.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// Action is the next step in people's words, and Problem the station's
	// typed refusal (code, offer, job), when the station gave one.
	Action  string           `json:"action,omitempty"`
	Problem *station.Problem `json:"problem,omitempty"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func fieldError(field, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: CodeInvalidField, Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// errorBody is the one shape every error answer has.
type errorBody struct {
	Error *apiError `json:"error"`
}

// toAPIError maps errors of the packages below onto statuses and codes.
// Unknown errors are 500s whose message is generic: internals (paths, bolt
// messages) are logged, not returned.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var fe *station.FieldError
	if errors.As(err, &fe) {
		return &apiError{Status: http.StatusBadRequest, Code: CodeInvalidField, Field: fe.Field, Message: fe.Error()}
	}
	var sp *station.Problem
	if errors.As(err, &sp) {
		// The station's refusal in the packer's words; the status and code
		// follow its sentinel as before (409 conflict for a labelled order).
		ae := toAPIError(errors.Unwrap(sp))
		if ae.Status == http.StatusInternalServerError {
			ae = &apiError{Status: http.StatusConflict, Code: CodeConflict}
		}
		return &apiError{Status: ae.Status, Code: ae.Code, Message: sp.Message, Action: sp.Action, Problem: sp}
	}
	var ce *station.CarrierError
	if errors.As(err, &ce) {
		// The upstream's own words reach the client. A refusal (4xx) is the
		// request's fault: 422; retries exhausted on timeouts and 5xx mean
		// the carrier is down: 503.
		status := http.StatusUnprocessableEntity
		if ce.Temporary {
			status = http.StatusServiceUnavailable
		}
		return &apiError{Status: status, Code: CodeCarrier, Message: ce.Message}
	}
	var dfe *queue.DiskFullError
	if errors.As(err, &dfe) {
		// The plain words (free space and floor), without the operation chain.
		return &apiError{Status: http.StatusInsufficientStorage, Code: CodeDiskFull, Message: dfe.Error()}
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "request body is larger than %d bytes", mbe.Limit)
	case errors.Is(err, queue.ErrInvalidTransition), errors.Is(err, station.ErrConflict):
		return &apiError{Status: http.StatusConflict, Code: CodeConflict, Message: err.Error()}
	case errors.Is(err, station.ErrNoOrder):
		return &apiError{Status: http.StatusNotFound, Code: CodeNoOrder, Message: err.Error()}
	case errors.Is(err, queue.ErrNotFound), errors.Is(err, station.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Code: CodeNotFound, Message: err.Error()}
	case errors.Is(err, station.ErrNotArmed):
		return &apiError{Status: http.StatusConflict, Code: CodeNotArmed, Message: err.Error()}
	case errors.Is(err, station.ErrBusy):
		return &apiError{Status: http.StatusConflict, Code: CodeBusy, Message: err.Error()}
	case errors.Is(err, station.ErrNoPreview):
		return &apiError{Status: http.StatusNotFound, Code: CodeNotFound, Message: err.Error()}
	case errors.Is(err, queue.ErrInvalid), errors.Is(err, station.ErrInvalid):
		return &apiError{Status: http.StatusBadRequest, Code: CodeInvalidField, Message: err.Error()}
	case errors.Is(err, queue.ErrPayloadTooLarge):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: CodeBodyTooLarge, Message: err.Error()}
	case errors.Is(err, scale.ErrNotSupported):
		return &apiError{Status: http.StatusUnprocessableEntity, Code: CodeNotSupported, Message: err.Error()}
	case errors.Is(err, scale.ErrRefused):
		return &apiError{Status: http.StatusConflict, Code: CodeConflict, Message: err.Error()}
	case errors.Is(err, queue.ErrClosed), errors.Is(err, scale.ErrNotConnected),
		errors.Is(err, scale.ErrTimeout), errors.Is(err, scale.ErrDisconnected):
		return &apiError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: err.Error()}
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this answer.
		return &apiError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "request cancelled"}
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "timed out"}
	}
	return errorf(http.StatusInternalServerError, CodeInternal, "internal error")
}

// writeJSON writes v with status. Encoding errors after the header are
// only loggable, and the caller's logger sees the status already.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{errorf(status, CodeInternal, "internal error: encode response")})
	}
	writeRawJSON(w, status, b)
}

// writeRawJSON answers with b, JSON the bench encoded itself with
// json.Marshal (valid, compact, HTML-escaped), followed by a newline:
// what writeJSON of it as json.RawMessage writes, without the encoder's
// second pass over every byte.
func writeRawJSON(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeAPIError(w http.ResponseWriter, ae *apiError) {
	if ae.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="packbench"`)
	}
	writeJSON(w, ae.Status, errorBody{ae})
}

// decodeJSON reads the request body into dst strictly: JSON content type,
// size limit, no unknown fields, one value and nothing after it. optional
// allows an empty body (dst keeps its zero value).
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, dst any, optional bool) error {
	return s.decodeJSONWith(w, r, dst, optional, nil)
}

// decodeJSONWith is decodeJSON with the strict decoder's options (a seed
// route's documented exceptions).
func (s *Server) decodeJSONWith(w http.ResponseWriter, r *http.Request, dst any, optional bool, opts *strictjson.Options) error {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		if optional {
			return nil
		}
		return errorf(http.StatusBadRequest, CodeInvalidJSON, "request body is empty: want a JSON object")
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Content-Type %q: want application/json", ct)
		}
	} else {
		return errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Content-Type missing: want application/json")
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.opt.MaxBody)
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return toAPIError(err)
		}
		return errorf(http.StatusBadRequest, CodeInvalidJSON, "reading the request body: %v", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if optional {
			return nil
		}
		return errorf(http.StatusBadRequest, CodeInvalidJSON, "request body is empty: want a JSON object")
	}
	if err := strictjson.Decode(data, dst, opts); err != nil {
		return jsonError(err)
	}
	return nil
}

// jsonError turns the strict decoder's refusals into API errors; members
// are named by their whole path ("lines[1].quantity").
func jsonError(err error) *apiError {
	var e *strictjson.Error
	if !errors.As(err, &e) {
		return errorf(http.StatusBadRequest, CodeInvalidJSON, "%v", err)
	}
	field := e.Field("")
	if field == "" {
		return errorf(http.StatusBadRequest, CodeInvalidJSON, "request body: %s", e.Rule())
	}
	return &apiError{Status: http.StatusBadRequest, Code: CodeInvalidField, Field: field, Message: field + ": " + e.Rule()}
}
