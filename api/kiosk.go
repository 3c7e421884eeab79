package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"image/png"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"

	"github.com/packbench/packbench/station"
)

// Kiosk screens (station/kiosk.go): the screen on the bench pairs once with
// a short code and then calls the packer's routes (opDoc.kiosk) with a
// token of its own; every other route refuses that token with 403. With
// [api] trust_loopback a request from the bench itself (a browser on the
// local display) may call the packer's routes with no credential at all.

const tagKiosk = "kiosk"

// Paths of the kiosk routes.
const (
	pathKiosks  = prefix + "/kiosks"
	pathPairing = pathKiosks + "/pairing"
	pathPair    = pathKiosks + "/pair"
)

// qrSize is the pairing QR code's side in pixels: scannable from a screen
// by a hand scanner or a tablet's camera.
const qrSize = 240

type pairingBody struct {
	// Name the paired screen gets (default "Bench screen").
	Name string `json:"name,omitempty"`
}

type pairBody struct {
	// Code is the pairing code shown on the admin page (spaces ignored).
	Code string `json:"code"`
}

// PairingAnswer is a pairing code with what to show for it.
type PairingAnswer struct {
	station.PairingCode
	// PairURL opens the bench page on the screen with the code filled in;
	// the QR code encodes it (a keyboard-wedge scanner types it into the
	// page's code field, which takes a URL as well as the bare code).
	PairURL string `json:"pair_url"`
	// QRPNG is the QR code of PairURL, a base64 PNG.
	QRPNG string `json:"qr_png"`
}

type kioskList struct {
	Kiosks []station.Kiosk `json:"kiosks"`
}

func (s *Server) kioskRoutes() []route {
	return []route{
		{"POST", pathPairing, authKey, s.createPairing, opDoc{
			summary: "Make a pairing code for a bench screen: 8 digits, valid 5 minutes, single use; the screen redeems it at POST " + pathPair +
				" for a kiosk token that may only do what a packer does (routes marked x-packbench-kiosk)", tag: tagKiosk,
			body: pairingBody{}, bodyOpt: true, status: http.StatusCreated, resp: PairingAnswer{}, errors: []int{http.StatusServiceUnavailable}}},
		{"POST", pathPair, authNone, s.pair, opDoc{
			summary: "Redeem a pairing code for a kiosk token (shown once). A wrong, used or expired code gets 401; " +
				"10 wrong codes void every pending code", tag: tagKiosk,
			body: pairBody{}, status: http.StatusCreated, resp: station.NewKiosk{}, errors: []int{http.StatusUnauthorized, http.StatusConflict, http.StatusServiceUnavailable}}},
		{"GET", pathKiosks, authKey, s.listKiosks, opDoc{
			summary: "Paired bench screens, oldest first (never their tokens)", tag: tagKiosk, resp: kioskList{}, errors: []int{http.StatusServiceUnavailable}}},
		{"DELETE", pathKiosks + "/{id}", authKey, s.revokeKiosk, opDoc{
			summary: "Revoke a bench screen's token: refused from the next request on, and its event stream ends", tag: tagKiosk,
			resp: okBody{}, errors: []int{http.StatusNotFound, http.StatusServiceUnavailable}}},
	}
}

func (s *Server) createPairing(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	var body pairingBody
	if err := s.decodeJSON(w, r, &body, true); err != nil {
		return err
	}
	pc, err := st.NewPairingCode(r.Context(), body.Name)
	if err != nil {
		return err
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	a := PairingAnswer{PairingCode: pc, PairURL: scheme + "://" + r.Host + "/#pair=" + pc.Code}
	code, err := qr.Encode(a.PairURL, qr.M, qr.Auto)
	if err == nil {
		code, err = barcode.Scale(code, qrSize, qrSize)
	}
	var buf bytes.Buffer
	if err == nil {
		err = png.Encode(&buf, code)
	}
	if err != nil {
		return errors.Join(errors.New("pairing QR code"), err)
	}
	a.QRPNG = base64.StdEncoding.EncodeToString(buf.Bytes())
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, a)
	return nil
}

func (s *Server) pair(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	var body pairBody
	if err := s.decodeJSON(w, r, &body, false); err != nil {
		return err
	}
	k, err := st.Pair(r.Context(), body.Code)
	if errors.Is(err, station.ErrNotFound) {
		return errorf(http.StatusUnauthorized, CodeUnauthorized, "pairing code not accepted: it is wrong, used or expired; make a new one on the admin page")
	}
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, k)
	return nil
}

func (s *Server) listKiosks(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	ks, err := st.Kiosks(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, kioskList{Kiosks: ks})
	return nil
}

func (s *Server) revokeKiosk(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := st.RevokeKiosk(r.Context(), id); err != nil {
		return err
	}
	s.kioskStreams.end(id)
	writeJSON(w, http.StatusOK, okBody{true})
	return nil
}

// authRoute authenticates a request for rt: the API key (or a Flow
// credential or a print token where rt takes one), a kiosk token on a
// packer's route, or nothing from loopback when [api] trust_loopback is
// on. c scopes Idempotency-Keys (and names a print token); kiosk is the
// kiosk id when a kiosk token was accepted.
func (s *Server) authRoute(r *http.Request, rt route) (c caller, kiosk string, ae *apiError) {
	queryOK := rt.auth == authKeyQuery || rt.auth == authPrintQuery
	tok, ae := credential(r, queryOK)
	if ae != nil && rt.auth != authFlow {
		return c, "", ae
	}
	switch {
	case strings.HasPrefix(tok, station.KioskTokenPrefix):
		if !rt.doc.kiosk {
			return c, "", errorf(http.StatusForbidden, CodeForbidden,
				"a paired bench screen may only scan, weigh and print: this needs the API key")
		}
		if s.deps.Station == nil {
			return c, "", errorf(http.StatusServiceUnavailable, CodeUnavailable, "no station: kiosk tokens cannot be checked")
		}
		id, ok, err := s.deps.Station.CheckKioskToken(r.Context(), tok)
		if err != nil {
			s.log.Error("api: check kiosk token", "err", err)
			return c, "", errorf(http.StatusServiceUnavailable, CodeUnavailable, "cannot check the screen's token now")
		}
		if !ok {
			return c, "", errorf(http.StatusUnauthorized, CodeUnauthorized, "this screen's pairing is not accepted (revoked?): pair it again from the admin page")
		}
		return caller{scope: idemScope(sha256.Sum256([]byte("kiosk\x00" + id)))}, id, nil
	case tok == "" && rt.doc.kiosk && s.opt.TrustLoopback && fromLoopback(r):
		return caller{scope: idemScope(sha256.Sum256([]byte("loopback")))}, "", nil
	case rt.auth == authFlow:
		digest, ae := s.authFlowOrKey(r)
		return caller{scope: idemScope(digest)}, "", ae
	case rt.auth == authPrint || rt.auth == authPrintQuery:
		c, ae = s.authPrint(r, queryOK)
		return c, "", ae
	}
	digest, ae := s.authKey(r, queryOK)
	return caller{scope: idemScope(digest)}, "", ae
}

// fromLoopback reports whether the request came from the bench itself.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// credential is the key or token a request presents: Authorization:
// Bearer, X-Api-Key, or ?key= where allowed; "" when none.
func credential(r *http.Request, queryOK bool) (string, *apiError) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return "", errorf(http.StatusUnauthorized, CodeUnauthorized, "Authorization: want \"Bearer <key>\"")
		}
		return strings.TrimSpace(tok), nil
	}
	if h := r.Header.Get("X-Api-Key"); h != "" {
		return h, nil
	}
	if queryOK {
		return r.URL.Query().Get("key"), nil
	}
	return "", nil
}

// kioskStreams are the open event streams of kiosk tokens, so a revoke
// ends them at once instead of at the screen's next request.
type kioskStreams struct {
	mu   sync.Mutex
	open map[string]map[*context.CancelFunc]struct{}
}

// watch gives r a context that ends when kiosk id is revoked; done
// forgets it.
func (k *kioskStreams) watch(r *http.Request, id string) (*http.Request, func()) {
	ctx, cancel := context.WithCancel(r.Context())
	k.mu.Lock()
	if k.open == nil {
		k.open = map[string]map[*context.CancelFunc]struct{}{}
	}
	if k.open[id] == nil {
		k.open[id] = map[*context.CancelFunc]struct{}{}
	}
	k.open[id][&cancel] = struct{}{}
	k.mu.Unlock()
	return r.WithContext(ctx), func() {
		k.mu.Lock()
		delete(k.open[id], &cancel)
		if len(k.open[id]) == 0 {
			delete(k.open, id)
		}
		k.mu.Unlock()
		cancel()
	}
}

// end ends every open stream of kiosk id.
func (k *kioskStreams) end(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for c := range k.open[id] {
		(*c)()
	}
}
