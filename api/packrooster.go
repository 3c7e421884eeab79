package api

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/station"
)

// The Packrooster automation API (seed 000), its label URLs and the Flow
// credentials it accepts besides the API key.

const (
	tagPackrooster = "packrooster"
	pathLabelURL   = "/labels/{file}"
	// Header names as a Shopify Flow HTTP action sends the credentials the
	// seed tells users to store as client_id and client_secret.
	headerClientID     = "client_id"
	headerClientSecret = "client_secret"
	// maxLabelURLs bounds the label URL answers made at once: they need no
	// key, and a PNG may be drawn per request.
	maxLabelURLs = 4
)

// packroosterAnswer is the seed's response: every member is always there
// ("" when there is nothing), so a Flow template can read it unguarded.
type packroosterAnswer struct {
	Status           string `json:"status"` // open, label_created, fulfilled, cancelled
	Carrier          string `json:"carrier"`
	TrackingURL      string `json:"tracking_url"`
	TrackingCode     string `json:"tracking_code"`
	ShippingLabelURL string `json:"shipping_label_url"`
	ReturnLabelURL   string `json:"return_label_url"`
	// Beside the seed's members: the bench's order, the fulfillment order
	// as the bench keys it, and the return parcel's tracking number.
	OrderID            string `json:"order_id"`
	FulfillmentOrderID string `json:"fulfillment_order_id"`
	ReturnTrackingCode string `json:"return_tracking_code"`
}

// packroosterDeleteBody is api/delete's optional body (the query works too).
type packroosterDeleteBody struct {
	Type string        `json:"type"`
	ID   station.AnyID `json:"id"`
}

type packroosterStatus struct {
	Status string `json:"status"`
}

type flowCredentialBody struct {
	Name string `json:"name"`
}

type flowCredentialList struct {
	Credentials []station.FlowCredential `json:"credentials"`
}

func (s *Server) packroosterRoutes() []route {
	answer := packroosterAnswer{}
	errs := []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusServiceUnavailable}
	post := func(path, action, summary string) route {
		return route{"POST", path, authFlow, s.packroosterAction(action), opDoc{
			summary: "Packrooster (seed 000): " + summary + ". order_id and fulfillment_order_id are numbers, numeric strings or gid://shopify/... ids " +
				"(or bench order ids); a fulfillment order is labelled once: a repeated call gives the same answer and prints nothing. " +
				"API key, or a Flow credential as client_id/client_secret headers or Basic",
			tag: tagPackrooster, body: station.PackroosterRequest{}, resp: answer, errors: errs}}
	}
	return []route{
		post("/api/label-fulfill", station.PackroosterLabelFulfill, "shipping label and fulfillment"),
		post("/api/label", station.PackroosterLabel, "shipping label without fulfillment (return_label: also a return label; shipping_label false: the return label alone)"),
		post("/api/fulfill", station.PackroosterFulfill, "fulfillment without a label"),
		{"GET", "/api/get", authFlow, s.packroosterGet, opDoc{
			summary: "Packrooster (seed 000): shipment data of a fulfillment order", tag: tagPackrooster, resp: answer,
			query:  []param{{name: "fulfillment_order_id", desc: "a number, numeric string or gid://shopify/FulfillmentOrder/... id (or a bench order id)", typ: "string"}},
			errors: []int{http.StatusNotFound, http.StatusServiceUnavailable}}},
		{"DELETE", "/api/delete", authFlow, s.packroosterDelete, opDoc{
			summary: "Packrooster (seed 000): type fulfillment-order cancels the fulfillment (labels voided, their URLs revoked); type order also deletes the order's data entirely. " +
				"type and id in the query or in a JSON body",
			tag: tagPackrooster, body: packroosterDeleteBody{}, bodyOpt: true, resp: packroosterStatus{},
			query: []param{{name: "type", desc: "order or fulfillment-order", typ: "string", enum: []string{station.PackroosterTypeOrder, station.PackroosterTypeFulfillmentOrder}},
				{name: "id", desc: "the order_id or fulfillment_order_id", typ: "string"}},
			errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable}}},
		{"GET", pathLabelURL, authNone, s.serveLabelURL, opDoc{
			summary: "A label by its capability URL (shipping_label_url, return_label_url): no key. {token} is PNG when the label has one, else ZPL; " +
				"{token}.png, {token}.zpl choose; {token}.pdf is the carrier's PDF for a label that came as one. 404 once the label is voided, deleted or past retention; 503 (Retry-After) while 4 downloads are being answered",
			tag: tagPackrooster, respType: "application/octet-stream", respDesc: "image/png or application/zpl",
			errors: []int{http.StatusNotFound, http.StatusServiceUnavailable}}},

		{"POST", prefix + "/flow-credentials", authKey, s.createFlowCredential, opDoc{
			summary: "Create a Flow credential (client id and secret for the Packrooster endpoints); the secret is in this answer only",
			tag:     tagPackrooster, body: flowCredentialBody{}, status: http.StatusCreated, resp: station.NewFlowCredential{},
			errors: []int{http.StatusConflict, http.StatusServiceUnavailable}}},
		{"GET", prefix + "/flow-credentials", authKey, s.listFlowCredentials, opDoc{
			summary: "Flow credentials, oldest first, without secrets", tag: tagPackrooster, resp: flowCredentialList{},
			errors: []int{http.StatusServiceUnavailable}}},
		{"DELETE", prefix + "/flow-credentials/{client_id}", authKey, s.deleteFlowCredential, opDoc{
			summary: "Delete a Flow credential: its secret stops working at once", tag: tagPackrooster,
			resp: okBody{}, errors: []int{http.StatusNotFound, http.StatusServiceUnavailable}}},
	}
}

// authFlowOrKey accepts a Flow credential (client_id and client_secret
// headers, or Basic with them as user and password) or else the API key.
// The digest scopes Idempotency-Keys like a key's.
func (s *Server) authFlowOrKey(r *http.Request) ([sha256.Size]byte, *apiError) {
	id, secret := r.Header.Get(headerClientID), r.Header.Get(headerClientSecret)
	given := id != "" || secret != ""
	if !given {
		if h := r.Header.Get("Authorization"); h != "" {
			scheme, tok, _ := strings.Cut(h, " ")
			if strings.EqualFold(scheme, "Basic") {
				raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(tok))
				if err != nil {
					return [sha256.Size]byte{}, errorf(http.StatusUnauthorized, CodeUnauthorized, "Authorization: Basic: not base64")
				}
				id, secret, _ = strings.Cut(string(raw), ":")
				given = true
			}
		}
	}
	if !given {
		return s.authKey(r, false)
	}
	refused := errorf(http.StatusUnauthorized, CodeUnauthorized, "client_id and client_secret not accepted")
	if s.deps.Station == nil || id == "" || secret == "" {
		return [sha256.Size]byte{}, refused
	}
	ok, err := s.deps.Station.CheckFlowCredential(r.Context(), id, secret)
	if err != nil {
		s.log.Error("api: check flow credential", "err", err)
		return [sha256.Size]byte{}, errorf(http.StatusServiceUnavailable, CodeUnavailable, "cannot check the credential now")
	}
	if !ok {
		return [sha256.Size]byte{}, refused
	}
	return sha256.Sum256([]byte("flow\x00" + id)), nil
}

// labelBase is where label URLs point: [packrooster] public_url, else the
// scheme and Host of this request (which passed the Host check).
func (s *Server) labelBase(st *station.Station, r *http.Request) string {
	if u := st.Config().Packrooster.PublicURL; u != "" {
		return strings.TrimRight(u, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) packroosterJSON(st *station.Station, r *http.Request, res station.PackroosterResult) packroosterAnswer {
	a := packroosterAnswer{Status: res.Status, Carrier: res.Carrier, TrackingURL: res.TrackingURL, TrackingCode: res.TrackingCode,
		OrderID: res.OrderID, FulfillmentOrderID: res.FulfillmentOrderID, ReturnTrackingCode: res.ReturnTrackingCode}
	base := s.labelBase(st, r) + strings.TrimSuffix(pathLabelURL, "{file}")
	if res.ShippingLabelToken != "" {
		a.ShippingLabelURL = base + res.ShippingLabelToken
	}
	if res.ReturnLabelToken != "" {
		a.ReturnLabelURL = base + res.ReturnLabelToken
	}
	return a
}

// scaleWeight is the scale's reading when it is stable with a weight.
func (s *Server) scaleWeight() *station.Weight {
	rd, ok := s.deps.Scale.Latest()
	if !ok || rd.Status != scale.StatusStable || !rd.HasWeight() || rd.Milligrams <= 0 {
		return nil
	}
	return &station.Weight{Milligrams: rd.Milligrams, Display: rd.Display(), Unit: rd.Unit.String()}
}

func (s *Server) packroosterAction(action string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		st, err := s.station()
		if err != nil {
			return err
		}
		var req station.PackroosterRequest
		if err := s.decodeJSON(w, r, &req, false); err != nil {
			return err
		}
		res, err := st.Packrooster(r.Context(), action, req, s.scaleWeight())
		if err != nil {
			return packroosterError(err)
		}
		writeJSON(w, http.StatusOK, s.packroosterJSON(st, r, res))
		return nil
	}
}

// packroosterError answers a missing weight with 422 (the request was
// right; the bench lacks a weight), other errors as usual.
func packroosterError(err error) error {
	var fe *station.FieldError
	if errors.As(err, &fe) && fe.Field == "weight" {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: CodeInvalidField, Field: fe.Field, Message: fe.Error()}
	}
	return err
}

func (s *Server) packroosterGet(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	res, err := st.PackroosterGet(r.Context(), r.URL.Query().Get("fulfillment_order_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.packroosterJSON(st, r, res))
	return nil
}

func (s *Server) packroosterDelete(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	var body packroosterDeleteBody
	if err := s.decodeJSON(w, r, &body, true); err != nil {
		return err
	}
	q := r.URL.Query()
	typ, id := q.Get("type"), q.Get("id")
	for _, f := range []struct {
		name      string
		query, in string
	}{{"type", typ, body.Type}, {"id", id, string(body.ID)}} {
		if f.query != "" && f.in != "" && f.query != f.in {
			return fieldError(f.name, "the query says %q, the body %q", f.query, f.in)
		}
	}
	if typ == "" {
		typ = body.Type
	}
	if id == "" {
		id = string(body.ID)
	}
	status, err := st.PackroosterDelete(r.Context(), typ, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, packroosterStatus{Status: status})
	return nil
}

// serveLabelURL serves GET /labels/{token}[.png|.zpl|.pdf]: no key, the token
// is the capability. Answers are not cached: voiding revokes them.
func (s *Server) serveLabelURL(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	file := r.PathValue("file")
	tok, ext, _ := strings.Cut(file, ".")
	notFound := errorf(http.StatusNotFound, CodeNotFound, "no such label")
	if len(tok) != station.LabelTokenLen {
		return notFound // refused before the file is read
	}
	select {
	case s.labelURLs <- struct{}{}:
		defer func() { <-s.labelURLs }()
	default:
		w.Header().Set("Retry-After", "1")
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "too many label downloads at once: retry in a second")
	}
	var b []byte
	ctype := "image/png"
	switch ext {
	case "":
		// PNG where the label has one (mail, Flow), else the printer's ZPL.
		b, err = st.LabelByToken(r.Context(), tok, "png")
		if errors.Is(err, station.ErrNoPreview) {
			ctype = "application/zpl"
			b, err = st.LabelByToken(r.Context(), tok, "zpl")
		}
	case "png":
		b, err = st.LabelByToken(r.Context(), tok, "png")
	case "zpl":
		ctype = "application/zpl"
		b, err = st.LabelByToken(r.Context(), tok, "zpl")
	case "pdf":
		// Only labels that came as a PDF (an http carrier's) have one.
		ctype = "application/pdf"
		b, err = st.LabelByToken(r.Context(), tok, "pdf")
	default:
		return notFound
	}
	if errors.Is(err, station.ErrNotFound) {
		return notFound // never say whether the token exists
	}
	if err != nil {
		return err
	}
	name := "label." + map[string]string{"image/png": "png", "application/zpl": "zpl", "application/pdf": "pdf"}[ctype]
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", `inline; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}

func (s *Server) createFlowCredential(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	var body flowCredentialBody
	if err := s.decodeJSON(w, r, &body, false); err != nil {
		return err
	}
	c, err := st.CreateFlowCredential(r.Context(), body.Name)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (s *Server) listFlowCredentials(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	cs, err := st.FlowCredentials(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, flowCredentialList{Credentials: cs})
	return nil
}

func (s *Server) deleteFlowCredential(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	if err := st.DeleteFlowCredential(r.Context(), r.PathValue("client_id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, okBody{true})
	return nil
}

// anyIDSchema is station.AnyID's shape: a number or a string.
func anyIDSchema() map[string]any {
	return map[string]any{"description": "a Shopify id: a number, a numeric string or a gid://shopify/<Type>/<number> id; or a bench order id",
		"oneOf": []any{map[string]any{"type": "integer"}, map[string]any{"type": "string"}}}
}
