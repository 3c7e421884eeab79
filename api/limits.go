package api

import (
	"net/http"
)

// limitBody refuses a declared body over MaxBody before reading a byte of
// it and caps any other (chunked) body at MaxBody. Either way the
// connection closes after the answer: the rest of a huge body is never
// read, let alone drained.
//
// raw is the server's own ResponseWriter: MaxBytesReader tells it (and
// no wrapper) to close the connection after the answer.
func (s *Server) limitBody(w, raw http.ResponseWriter, r *http.Request) bool {
	if r.ContentLength > s.opt.MaxBody {
		w.Header().Set("Connection", "close")
		writeAPIError(w, errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge,
			"request body is larger than %d bytes", s.opt.MaxBody))
		return false
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(raw, r.Body, s.opt.MaxBody)
	}
	return true
}

// takeStream counts an event stream in; false when MaxStreams are open.
// The caller calls the returned release when the stream ends.
func (s *Server) takeStream() (release func(), ok bool) {
	if s.streams.Add(1) > int64(s.opt.MaxStreams) {
		s.streams.Add(-1)
		return nil, false
	}
	return func() { s.streams.Add(-1) }, true
}
