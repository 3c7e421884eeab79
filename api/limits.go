package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/packbench/packbench/station"
)

// limitBody refuses a declared body over MaxBody before reading a byte of
// it and caps any other (chunked) body at MaxBody. Either way the
// connection closes after the answer: the rest of a huge body is never
// read, let alone drained.
//
// raw is the server's own ResponseWriter: MaxBytesReader tells it (and
// no wrapper) to close the connection after the answer.
func (s *Server) limitBody(w, raw http.ResponseWriter, r *http.Request, pattern string) bool {
	limit := s.opt.MaxBody
	if pattern == patternFirmwarePost {
		limit = maxFirmwareBody // a binary; bounded again by its signed size
	}
	if r.ContentLength > limit {
		w.Header().Set("Connection", "close")
		writeAPIError(w, errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge,
			"request body is larger than %d bytes", limit))
		return false
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(raw, r.Body, limit)
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

// writeList streams a list answer, {"<name>":[item,...],"next":...,
// "total":...}, encoding one item at a time into the connection instead
// of building the whole answer in memory. total < 0 leaves it out (jobs
// have none). An item that cannot be encoded aborts the connection: the
// client sees a cut answer, never a well-formed wrong one.
func writeList[T any](w http.ResponseWriter, name string, items []T, next string, total int) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	enc := json.NewEncoder(bw)
	fmt.Fprintf(bw, "{%s:[", quoteJSON(name))
	for i := range items {
		if i > 0 {
			bw.WriteByte(',')
		}
		if err := enc.Encode(items[i]); err != nil {
			panic(http.ErrAbortHandler)
		}
	}
	bw.WriteByte(']')
	if next != "" {
		fmt.Fprintf(bw, `,"next":%s`, quoteJSON(next))
	}
	if total >= 0 {
		fmt.Fprintf(bw, `,"total":%d`, total)
	}
	bw.WriteString("}\n")
	bw.Flush() // a write error means the client went away
}

func quoteJSON(s string) []byte {
	b, _ := json.Marshal(s) // a string always encodes
	return b
}

// cutToBudget keeps the leading items that fit in station.PageBytes of
// JSON (at least one); cut says some were left out.
func cutToBudget[T any](items []T) (kept []T, cut bool) {
	used := 0
	for i := range items {
		b, err := json.Marshal(items[i])
		if err != nil {
			return items, false // writeList aborts on it
		}
		if i > 0 && used+len(b) > station.PageBytes {
			return items[:i], true
		}
		used += len(b) + 1
	}
	return items, false
}
