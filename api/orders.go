package api

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/packbench/packbench/internal/textcheck"
	"github.com/packbench/packbench/station"
)

func (s *Server) createOrder(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	var o station.Order
	if err := s.decodeJSON(w, r, &o, false); err != nil {
		return err
	}
	if o.Source == "" {
		o.Source = "api"
	}
	created, err := st.CreateOrder(r.Context(), o)
	if err != nil {
		return err
	}
	w.Header().Set("Location", prefix+"/orders/"+url.PathEscape(created.ID))
	writeJSON(w, http.StatusCreated, created)
	return nil
}

// listOptions reads the paging and filter parameters of order and
// shipment lists; the station checks them and names the bad one.
func listOptions(r *http.Request) (station.ListOptions, error) {
	q := r.URL.Query()
	lo := station.ListOptions{Status: station.OrderStatus(q.Get("status")), Identifier: q.Get("identifier"), After: q.Get("after")}
	switch lo.Status {
	case "", station.OrderOpen, station.OrderPartial, station.OrderShipped, station.OrderCancelled:
	default:
		return lo, fieldError("status", "want open, partial, shipped or cancelled, got %q", lo.Status)
	}
	if q.Has("limit") {
		n, err := parseLimit(r)
		if err != nil {
			return lo, err
		}
		lo.Limit = n
	}
	return lo, nil
}

func (s *Server) listOrders(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	lo, err := listOptions(r)
	if err != nil {
		return err
	}
	page, err := st.ListOrders(r.Context(), lo)
	if err != nil {
		return err
	}
	writeList(w, "orders", page.Orders, page.Next, page.Total)
	return nil
}

func (s *Server) getOrder(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	o, err := st.FindOrder(r.Context(), id)
	if errors.Is(err, station.ErrNoOrder) {
		return errorf(http.StatusNotFound, CodeNotFound, "order %q: not found", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

func (s *Server) voidOrder(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	var body reasonBody
	if err := s.decodeJSON(w, r, &body, true); err != nil {
		return err
	}
	if body.Reason == "" {
		body.Reason = "voided through the API"
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	o, err := st.CancelOrder(r.Context(), id, body.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

func (s *Server) ship(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	var req station.ShipRequest
	if err := s.decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	p, err := st.Ship(r.Context(), req)
	if err != nil {
		return err
	}
	w.Header().Set("Location", prefix+"/shipments/"+url.PathEscape(p.OrderID))
	writeJSON(w, http.StatusCreated, p)
	return nil
}

func (s *Server) listShipments(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	lo, err := listOptions(r)
	if err != nil {
		return err
	}
	page, err := st.ListShipments(r.Context(), lo)
	if err != nil {
		return err
	}
	writeList(w, "shipments", page.Shipments, page.Next, page.Total)
	return nil
}

func (s *Server) getShipment(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	sh, err := st.Shipment(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sh)
	return nil
}

func (s *Server) getPackage(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := st.Package(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) voidPackage(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	var body reasonBody
	if err := s.decodeJSON(w, r, &body, true); err != nil {
		return err
	}
	if body.Reason == "" {
		body.Reason = "voided through the API"
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := st.VoidPackage(r.Context(), id, body.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// reprintBody is the optional body of POST /jobs/{id}/reprint.
type reprintBody struct {
	// Printer sends the reprint elsewhere; empty means the package's printer.
	Printer string `json:"printer"`
}

// reprintJob prints a job's label again: same tracking number, a new job
// keyed as a reprint. The answer is the new job.
func (s *Server) reprintJob(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	id, err := pathJobID(r)
	if err != nil {
		return err
	}
	var body reprintBody
	if err := s.decodeJSON(w, r, &body, true); err != nil {
		return err
	}
	if _, err := s.deps.Queue.Job(r.Context(), id); err != nil {
		return err
	}
	_, job, err := st.Reprint(r.Context(), id.String(), body.Printer)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, job)
	return nil
}

// getLabel serves /labels/{id}.zpl and /labels/{id}.png: the mux cannot
// split a segment on ".", so the handler takes the extension off.
func (s *Server) getLabel(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	file := r.PathValue("file")
	ref := strings.TrimSuffix(strings.TrimSuffix(file, ".zpl"), ".png")
	if err := textcheck.ID(ref, maxPathID); err != nil {
		return fieldError("id", "%v", err)
	}
	var (
		b     []byte
		ctype string
	)
	switch {
	case strings.HasSuffix(file, ".zpl") && len(file) > 4:
		b, err = st.LabelZPL(r.Context(), strings.TrimSuffix(file, ".zpl"))
		ctype = "application/zpl"
	case strings.HasSuffix(file, ".png") && len(file) > 4:
		b, err = st.LabelPNG(r.Context(), strings.TrimSuffix(file, ".png"))
		ctype = "image/png"
	default:
		return errorf(http.StatusNotFound, CodeNotFound, "label %q: want {id}.zpl or {id}.png", file)
	}
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", `inline; filename="`+sanitizeFilename(file)+`"`)
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}

// maxPathID bounds an id in a path; the station's ids and codes are shorter.
const maxPathID = 256

// pathID reads the path segment name and checks it with the id rules of
// internal/textcheck, so an id no store could hold (a bidi override, "..",
// "/", "#") is a 400 naming it rather than a lookup.
func pathID(r *http.Request, name string) (string, error) {
	v := r.PathValue(name)
	if err := textcheck.ID(v, maxPathID); err != nil {
		return "", fieldError(name, "%v", err)
	}
	return v, nil
}

// sanitizeFilename keeps a header value plain: ids are codes, but the
// path is the client's.
func sanitizeFilename(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}
