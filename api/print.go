package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/packbench/packbench/internal/textcheck"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// The print-job API (POST /api/v1/print): anything printable from anywhere,
// as PrintNode and QZ Tray users expect. Every job is committed before the
// 202 and prints through the printer worker like any other.
const (
	pathPrint = prefix + "/print"
	// Raw bodies: the content type says the kind.
	ctPDF     = "application/pdf"
	ctPNG     = "image/png"
	ctZPL     = "application/vnd.zebra.zpl"
	ctZPLMine = queue.ContentZPL // the bench's own name for ZPL
	kindPDF   = "pdf"
	// DefaultPrintURLTimeout bounds fetching a print job's url, connect
	// to the last byte.
	DefaultPrintURLTimeout = 10 * time.Second
	// maxPrintText bounds title and source.
	maxPrintText     = 256
	maxPrintRedirect = 5
	// maxPrintFetches bounds the URL fetches running at once: each may
	// hold PrintURLMaxBytes, and the daemon's memory stays small.
	maxPrintFetches = 4
)

// PrintRequest is the JSON body of POST /api/v1/print: exactly one of zpl,
// png, pdf, label or url, and where and how often to print it.
type PrintRequest struct {
	ZPL   string          `json:"zpl,omitempty"`   // raw ZPL, through the [zpl] passthrough check
	PNG   []byte          `json:"png,omitempty"`   // base64 PNG, fitted to the label
	PDF   []byte          `json:"pdf,omitempty"`   // base64 PDF, one label per page
	Label json.RawMessage `json:"label,omitempty"` // a label spec (labelrender's), drawn on the bench
	// URL is fetched by the bench (http or https): a PDF, PNG or ZPL by its
	// content. Size- and time-limited; LAN addresses are allowed.
	URL     string `json:"url,omitempty"`
	Printer string `json:"printer,omitempty"` // default: the flow's printer
	Copies  int    `json:"copies,omitempty"`  // 0 means 1
	Title   string `json:"title,omitempty"`   // shown with the job (its ref)
	Source  string `json:"source,omitempty"`  // the sending app (the job's origin)
}

// PrintAnswer is the 202 of POST /api/v1/print: the job and where to
// follow it.
type PrintAnswer struct {
	queue.Job
	StatusURL string `json:"status_url"` // GET: the job with its state history
	EventsURL string `json:"events_url"` // GET: Server-Sent Events of its state
}

// PDFToZPL makes one printer-ready ZPL format per page of a PDF, at the
// bench's label size and resolution.
type PDFToZPL func(ctx context.Context, pdf []byte) ([][]byte, error)

// printJob is a decoded request: one content kind and its bytes.
type printJob struct {
	kind    string // station.KindZPL, KindPNG, KindLabel, kindPDF; "" with url
	body    []byte
	url     string
	printer string
	copies  int
	title   string
	source  string
}

func (s *Server) print(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	pj, err := s.readPrint(w, r)
	if err != nil {
		return err
	}
	if pj.printer == "" {
		pj.printer = st.Printer()
	} else if err := station.KnownPrinter(st.Printers(), st.Printer(), pj.printer); err != nil {
		return err
	}
	if pj.url != "" {
		if pj.kind, pj.body, err = s.fetchPrintURL(r.Context(), pj.url); err != nil {
			return err
		}
	}
	var label station.JobLabel
	if pj.kind == kindPDF {
		if label, err = s.pdfLabel(r.Context(), pj.body); err != nil {
			return err
		}
	} else if label, err = st.MakeJobLabel(pj.kind, pj.body, pj.copies, s.opt.Clock.Now().UTC()); err != nil {
		var fe *station.FieldError
		if pj.url != "" && errors.As(err, &fe) {
			return &apiError{Status: http.StatusUnprocessableEntity, Code: CodeURLRefused, Field: "url",
				Message: fmt.Sprintf("url: the %s it answered is not printable: %s", pj.kind, fe.Error())}
		}
		return err
	}
	nj := queue.NewJob{Key: printKey(r), Source: queue.SourceAPI, Printer: pj.printer, Copies: pj.copies, Ref: pj.title, Origin: pj.source}
	job, created, err := st.EnqueueJobLabel(r.Context(), nj, label)
	if err != nil {
		return err
	}
	if created {
		st.LogZPLSettings(job.ID, "api", label.Settings)
	}
	status := pathJobs + "/" + job.ID.String()
	w.Header().Set("Location", status)
	writeJSON(w, http.StatusAccepted, PrintAnswer{Job: job, StatusURL: status, EventsURL: status + "/events"})
	return nil
}

// pdfLabel is a PDF's pages as one job: one ZPL format per page, in order.
// Until a PDF engine is wired (Options.PDFToZPL), PDF is 415.
func (s *Server) pdfLabel(ctx context.Context, pdf []byte) (station.JobLabel, error) {
	if s.opt.PDFToZPL == nil {
		return station.JobLabel{}, errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "PDF not supported yet: send zpl, png or a label")
	}
	pages, err := s.opt.PDFToZPL(ctx, pdf)
	if err != nil {
		if ctx.Err() != nil {
			return station.JobLabel{}, err
		}
		return station.JobLabel{}, &apiError{Status: http.StatusUnprocessableEntity, Code: CodeInvalidField, Field: kindPDF, Message: "pdf: " + err.Error()}
	}
	if len(pages) == 0 {
		return station.JobLabel{}, fieldError(kindPDF, "the PDF has no pages")
	}
	return station.JobLabel{ZPL: bytes.Join(pages, nil)}, nil
}

// readPrint decodes a JSON body or a raw one (its content type says the
// kind; printer, copies, title and source come in the query then).
func (s *Server) readPrint(w http.ResponseWriter, r *http.Request) (printJob, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var pj printJob
	raw := map[string]string{ctPDF: kindPDF, ctPNG: station.KindPNG, ctZPL: station.KindZPL, ctZPLMine: station.KindZPL}
	if kind, ok := raw[mt]; ok {
		q := r.URL.Query()
		for name := range q {
			switch name {
			case "printer", "copies", "title", "source":
			default:
				return pj, fieldError(name, "unknown query parameter (want printer, copies, title, source)")
			}
		}
		pj.kind, pj.printer, pj.title, pj.source = kind, q.Get("printer"), q.Get("title"), q.Get("source")
		if v := q.Get("copies"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return pj, fieldError("copies", "want an integer, got %q", v)
			}
			pj.copies = n
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opt.MaxBody))
		if err != nil {
			return pj, toAPIError(err)
		}
		if len(body) == 0 {
			return pj, errorf(http.StatusBadRequest, CodeInvalidJSON, "request body is empty: want the %s", mt)
		}
		pj.body = body
	} else {
		if mt != "" && mt != "application/json" {
			return pj, errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia,
				"Content-Type %q: want application/json, %s, %s or %s", mt, ctPDF, ctPNG, ctZPL)
		}
		var req PrintRequest
		if err := s.decodeJSON(w, r, &req, false); err != nil {
			return pj, err
		}
		var kinds []string
		for _, k := range []struct {
			name string
			set  bool
			body []byte
		}{{station.KindZPL, req.ZPL != "", []byte(req.ZPL)}, {station.KindPNG, len(req.PNG) > 0, req.PNG},
			{kindPDF, len(req.PDF) > 0, req.PDF}, {station.KindLabel, len(req.Label) > 0, req.Label}, {"url", req.URL != "", nil}} {
			if k.set {
				kinds = append(kinds, k.name)
				pj.kind, pj.body = k.name, k.body
			}
		}
		if len(kinds) != 1 {
			return pj, errorf(http.StatusBadRequest, CodeInvalidField, "give exactly one of zpl, png, pdf, label or url (got %d: %s)", len(kinds), strings.Join(kinds, ", "))
		}
		if pj.kind == "url" {
			pj.kind, pj.url = "", req.URL
			if err := checkPrintURL(req.URL); err != nil {
				return pj, err
			}
		}
		pj.printer, pj.copies, pj.title, pj.source = req.Printer, req.Copies, req.Title, req.Source
	}
	if pj.copies == 0 {
		pj.copies = 1
	}
	if pj.copies < 1 || pj.copies > queue.MaxCopies {
		return pj, fieldError("copies", "want 1 to %d, got %d", queue.MaxCopies, pj.copies)
	}
	for _, f := range []struct{ name, v string }{{"title", pj.title}, {"source", pj.source}} {
		if f.v != "" {
			if err := textcheck.Text(f.v, maxPrintText); err != nil {
				return pj, fieldError(f.name, "%v", err)
			}
		}
	}
	if pj.printer != "" {
		if err := textcheck.ID(pj.printer, queue.MaxPrinterLen); err != nil {
			return pj, fieldError("printer", "%v", err)
		}
	}
	return pj, nil
}

// printKey is the job's queue key: under an Idempotency-Key it is derived
// from the caller's scope and the key, so even a power cut between the
// commit and the kept answer cannot print it twice; otherwise random. The
// scope prefix tells whose job it is (a print token reads only its own).
func printKey(r *http.Request) string {
	c := callerOf(r.Context())
	tail := make([]byte, 16)
	if k := r.Header.Get(HeaderIdempotencyKey); k != "" {
		sum := sha256.Sum256([]byte(k))
		copy(tail, sum[:])
	} else {
		rand.Read(tail)
	}
	return "api:" + c.scope + ":" + hex.EncodeToString(tail)
}

// ownsJob says whether a job was printed through the API by this caller.
func ownsJob(c caller, j queue.Job) bool { return strings.HasPrefix(j.Key, "api:"+c.scope+":") }

func checkPrintURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fieldError("url", "want an absolute http or https URL, got %q", raw)
	}
	return nil
}

// urlRefused is the one error of a url the bench would not print.
func urlRefused(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, Code: CodeURLRefused, Field: "url", Message: "url: " + fmt.Sprintf(format, args...)}
}

// newPrintClient is the client that fetches print URLs: TLS verified (the
// default transport), redirects only to http(s) and at most 5, no cookies.
func newPrintClient() *http.Client {
	return &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxPrintRedirect {
			return fmt.Errorf("more than %d redirects", maxPrintRedirect)
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return fmt.Errorf("redirect to %s: only http and https", req.URL.Scheme)
		}
		return nil
	}}
}

// fetchPrintURL fetches a print job's url within the time and size limits
// and says what it is by its content: a PDF, a PNG or ZPL.
func (s *Server) fetchPrintURL(ctx context.Context, raw string) (string, []byte, error) {
	select {
	case s.printFetches <- struct{}{}:
		defer func() { <-s.printFetches }()
	case <-ctx.Done():
		return "", nil, ctx.Err()
	}
	ctx, cancel := context.WithTimeout(ctx, s.opt.PrintURLTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return "", nil, fieldError("url", "%v", err)
	}
	req.Header.Set("Accept", "application/pdf, image/png, application/vnd.zebra.zpl, text/plain;q=0.5")
	limit := s.opt.PrintURLMaxBytes
	timedOut := func(err error) error {
		var ne net.Error
		if errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return urlRefused("no complete answer within %s: nothing was queued", s.opt.PrintURLTimeout)
		}
		return urlRefused("fetching failed: %v", unwrapURLError(err))
	}
	resp, err := s.printClient.Do(req)
	if err != nil {
		return "", nil, timedOut(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return "", nil, urlRefused("the server answered %s", resp.Status)
	}
	if resp.ContentLength > limit {
		return "", nil, urlRefused("the answer is %d bytes, more than the %d a print job may be", resp.ContentLength, limit)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return "", nil, timedOut(err)
	}
	if int64(len(body)) > limit {
		return "", nil, urlRefused("the answer is more than the %d bytes a print job may be", limit)
	}
	switch {
	case bytes.HasPrefix(body, []byte("%PDF-")):
		return kindPDF, body, nil
	case bytes.HasPrefix(body, []byte("\x89PNG\r\n\x1a\n")):
		return station.KindPNG, body, nil
	case bytes.Contains(body, []byte("^XA")) || bytes.Contains(body, []byte("\x1eXA")):
		return station.KindZPL, body, nil
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		ct = "no content type"
	}
	return "", nil, urlRefused("the answer (%s, %d bytes) is not a label: want a PDF, a PNG or ZPL", ct, len(body))
}

// unwrapURLError drops *url.Error's "Get \"...\":" prefix: the caller
// knows the URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
