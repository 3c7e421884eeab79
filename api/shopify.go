package api

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/packbench/packbench/station"
)

// The Shopify fulfillment service (seed 003) at the bench's edge: the
// callback_url's GET endpoints, the fulfillment webhooks, and packbench's
// own routes for the stock ledger and the service's registration data.

const (
	tagShopify = "shopify"
	tagStock   = "stock"

	// pathShopifyToken prefixes the callback routes that carry the
	// callback token instead of a key header: Shopify appends
	// /fetch_stock.json etc. to the registered callback_url and cannot add
	// headers. The path, not the query: a query in callback_url would end
	// up before the appended path.
	pathShopifyToken   = "/shopify/{token}"
	pathShopifyWebhook = "/webhooks/shopify"
	pathShopifyInfo    = prefix + "/shopify"
)

// ShopifyTrackingNumbers is the answer of fetch_tracking_numbers (seed 003).
type ShopifyTrackingNumbers struct {
	TrackingNumbers map[string]string `json:"tracking_numbers"`
	Message         string            `json:"message"`
	Success         bool              `json:"success"`
}

// ShopifyInfo is what an admin registers with Shopify.
type ShopifyInfo struct {
	// Handle is the fulfillment service handle ([shopify] handle).
	Handle string `json:"handle"`
	// CallbackURL is the fulfillment service's callback_url: Shopify
	// appends /fetch_tracking_numbers.json and /fetch_stock.json to it.
	// It carries the callback token: treat it as a secret.
	CallbackURL string `json:"callback_url"`
	// WebhookURL receives fulfillments/create and fulfillments/update.
	WebhookURL string `json:"webhook_url"`
	// Topics are the webhook topics to subscribe.
	Topics []string `json:"topics"`
	// WebhooksEnabled: a client secret is configured, so webhooks are
	// verified and accepted (without one they get 503).
	WebhooksEnabled bool `json:"webhooks_enabled"`
	// PublicURLSet: the URLs are built on [shopify] public_url; otherwise
	// on the address this request reached the bench at, which Shopify can
	// reach only if it is public.
	PublicURLSet bool `json:"public_url_set"`
}

// stockList is GET /api/v1/stock.
type stockList struct {
	Stock []station.StockItem `json:"stock"`
}

// stockSet is PUT /api/v1/stock/{sku}.
type stockSet struct {
	Quantity *int64 `json:"quantity"`
	Reason   string `json:"reason,omitempty"`
}

// stockAdjust is POST /api/v1/stock/{sku}/adjust.
type stockAdjust struct {
	Delta  *int64 `json:"delta"`
	Reason string `json:"reason,omitempty"`
}

var (
	fetchTrackingParams = []param{
		{name: "order_names[]", desc: "a fulfillment name (\"#1001.1\", the # percent-encoded as %23); repeated. The brackets may be percent-encoded; order_names and order_names[N] are read too", typ: "string"},
		{name: "shop", desc: "the shop's myshopify domain: orders from another shop are left out", typ: "string"},
	}
	fetchStockParams = []param{
		{name: "sku", desc: "one SKU; without it, every SKU the ledger tracks", typ: "string"},
		{name: "shop", desc: "the shop's myshopify domain (the bench keeps one ledger for all shops)", typ: "string"},
		{name: "max_retries", desc: "Shopify's retry budget (read, checked to be a number, not used)", typ: "integer"},
		{name: "timestamp", desc: "Unix time of Shopify's request (read, checked to be a number, not used)", typ: "integer"},
	}
)

// shopifyRoutes are the Shopify fulfillment service's routes and the
// stock ledger's.
func (s *Server) shopifyRoutes() []route {
	unauth := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusServiceUnavailable}
	stockErrs := []int{http.StatusInsufficientStorage, http.StatusServiceUnavailable} // a new SKU needs room
	tracking := opDoc{summary: "Shopify fulfillment service (seed 003): tracking numbers of fulfillments the bench labelled " +
		"({\"tracking_numbers\":{name: number},\"message\",\"success\":true}); names the bench does not know or has not labelled are left out",
		tag: tagShopify, resp: ShopifyTrackingNumbers{}, query: fetchTrackingParams, errors: []int{http.StatusBadRequest, http.StatusServiceUnavailable}}
	stock := opDoc{summary: "Shopify fulfillment service (seed 003): {sku: quantity} from the stock ledger, for one SKU or all; " +
		"a SKU the ledger does not track is left out ({})", tag: tagShopify, resp: map[string]int64{}, query: fetchStockParams,
		errors: []int{http.StatusBadRequest, http.StatusServiceUnavailable}}
	withToken := func(d opDoc) opDoc {
		d.summary += ". This form needs no header: {token}, the callback token of the callback_url GET /api/v1/shopify shows, authenticates it"
		d.errors = unauth
		return d
	}
	var out []route
	for _, suf := range []string{"", ".json"} {
		out = append(out,
			route{"GET", "/fetch_tracking_numbers" + suf, authKey, s.shopifyTracking, tracking},
			route{"GET", "/fetch_stock" + suf, authKey, s.shopifyStock, stock},
			route{"GET", pathShopifyToken + "/fetch_tracking_numbers" + suf, authNone, s.withCallbackToken(s.shopifyTracking), withToken(tracking)},
			route{"GET", pathShopifyToken + "/fetch_stock" + suf, authNone, s.withCallbackToken(s.shopifyStock), withToken(stock)},
		)
	}
	return append(out,
		route{"POST", pathShopifyWebhook, authNone, s.shopifyWebhook, opDoc{
			summary: "Shopify webhooks (fulfillments/create, fulfillments/update; other topics 200 and ignored). Authenticated by " +
				"X-Shopify-Hmac-Sha256 (base64 HMAC-SHA256 of the raw body with [shopify] client_secret) alone: the API key is no substitute. " +
				"A redelivered X-Shopify-Webhook-Id answers 200 with result duplicate and changes nothing. A pending fulfillment whose service is " +
				"[shopify] handle becomes an order; cancelled cancels it unless a label was issued. 503 while no client secret is configured. " +
				"Headers: X-Shopify-Hmac-Sha256 (required), X-Shopify-Topic (required), X-Shopify-Shop-Domain, X-Shopify-Webhook-Id",
			tag: tagShopify, body: map[string]any{}, resp: station.ShopifyResult{},
			errors: unauth}},
		route{"GET", pathShopifyInfo, authKey, s.getShopifyInfo, opDoc{
			summary: "What to register with Shopify: the fulfillment service's handle and callback_url (with the callback token: a secret), the webhook URL and topics",
			tag:     tagShopify, resp: ShopifyInfo{}, errors: []int{http.StatusServiceUnavailable}}},
		route{"POST", pathShopifyInfo + "/callback-token/rotate", authKey, s.rotateShopifyToken, opDoc{
			summary: "Make a new callback token (the old callback_url stops working at once; update the fulfillment service); 409 when [shopify] callback_token sets it",
			tag:     tagShopify, resp: ShopifyInfo{}, errors: []int{http.StatusConflict, http.StatusServiceUnavailable}}},

		route{"GET", prefix + "/stock", authKey, s.listStock, opDoc{
			summary: "The stock ledger: every tracked SKU, in SKU order", tag: tagStock, resp: stockList{}, errors: []int{http.StatusServiceUnavailable}}},
		route{"GET", prefix + "/stock/{sku}", authKey, s.getStock, opDoc{
			summary: "One SKU's quantity (404: not tracked). A SKU with / is percent-encoded (%2F)", tag: tagStock, resp: station.StockItem{},
			errors: []int{http.StatusNotFound, http.StatusServiceUnavailable}}},
		route{"PUT", prefix + "/stock/{sku}", authKey, s.setStock, opDoc{
			summary: "Set a SKU's quantity (and track it): {\"quantity\":12,\"reason\":\"count\"}. Labels take an order's lines out when its first package is labelled, voids put them back",
			tag:     tagStock, body: stockSet{}, resp: station.StockItem{}, errors: stockErrs}},
		route{"POST", prefix + "/stock/{sku}/adjust", authKey, s.adjustStock, opDoc{
			summary: "Add to (or, negative, take from) a SKU's quantity: {\"delta\":-2,\"reason\":\"damaged\"}; a SKU not tracked starts at 0. Not idempotent: a retry adjusts again (PUT sets a quantity and is safe to retry)",
			tag:     tagStock, body: stockAdjust{}, resp: station.StockItem{}, errors: stockErrs}},
	)
}

// withCallbackToken authenticates a callback by the token in its path,
// compared in constant time.
func (s *Server) withCallbackToken(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		st, err := s.station()
		if err != nil {
			return err
		}
		ok, err := st.CheckShopifyCallbackToken(r.Context(), r.PathValue("token"))
		if err != nil {
			return err
		}
		if !ok {
			return errorf(http.StatusUnauthorized, CodeUnauthorized, "callback token not accepted: register the callback_url GET /api/v1/shopify shows")
		}
		return h(w, r)
	}
}

// logPath is the path a request is logged with: a callback token stays
// out of the journal.
func logPath(pattern, path string) string {
	if strings.Contains(pattern, pathShopifyToken) {
		return pattern
	}
	return path
}

// orderNames reads order_names[] the ways clients send it: raw or
// percent-encoded brackets (the query parser decodes both), no brackets,
// or indexed (order_names[0]).
func orderNames(q url.Values) []string {
	var out []string
	out = append(out, q["order_names[]"]...)
	out = append(out, q["order_names"]...)
	for k, v := range q {
		if rest, ok := strings.CutPrefix(k, "order_names["); ok && rest != "]" && strings.HasSuffix(rest, "]") {
			out = append(out, v...)
		}
	}
	return out
}

func (s *Server) shopifyTracking(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	names := orderNames(q)
	if len(names) == 0 {
		return fieldError("order_names[]", "required: the fulfillment names, like order_names[]=%%231001.1")
	}
	if len(names) > 1000 {
		return fieldError("order_names[]", "at most 1000 names")
	}
	got, err := st.ShopifyTrackingNumbers(r.Context(), q.Get("shop"), names)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ShopifyTrackingNumbers{TrackingNumbers: got, Message: "Successfully received the tracking numbers", Success: true})
	return nil
}

func (s *Server) shopifyStock(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	for _, f := range []string{"max_retries", "timestamp"} {
		if v := q.Get(f); v != "" {
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				return fieldError(f, "want an integer, got %q", v)
			}
		}
	}
	out := map[string]int64{}
	if q.Has("sku") {
		sku := q.Get("sku")
		it, err := st.Stock(r.Context(), sku)
		switch {
		case err == nil:
			out[it.SKU] = it.Quantity
		case errors.Is(err, station.ErrNotFound):
		default:
			return err
		}
	} else {
		items, err := st.ListStock(r.Context())
		if err != nil {
			return err
		}
		for _, it := range items {
			out[it.SKU] = it.Quantity
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) shopifyWebhook(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	if !st.ShopifyWebhooksEnabled() {
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "Shopify webhooks are off: set [shopify] client_secret (or PACKBENCH_SHOPIFY_SECRET)")
	}
	var body []byte
	if r.Body != nil {
		if body, err = io.ReadAll(r.Body); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return toAPIError(err)
			}
			return errorf(http.StatusBadRequest, CodeInvalidJSON, "reading the request body: %v", err)
		}
	}
	sig := r.Header.Get("X-Shopify-Hmac-Sha256")
	if sig == "" {
		return errorf(http.StatusUnauthorized, CodeUnauthorized, "X-Shopify-Hmac-Sha256 missing: Shopify webhooks are authenticated by their signature only")
	}
	if !st.VerifyShopifyWebhook(body, sig) {
		return errorf(http.StatusUnauthorized, CodeUnauthorized, "X-Shopify-Hmac-Sha256 does not sign this body with the configured client secret")
	}
	topic := r.Header.Get("X-Shopify-Topic")
	if topic == "" {
		return fieldError("X-Shopify-Topic", "required")
	}
	res, err := st.ShopifyWebhook(r.Context(), station.ShopifyDelivery{WebhookID: r.Header.Get("X-Shopify-Webhook-Id"),
		Topic: topic, Shop: r.Header.Get("X-Shopify-Shop-Domain"), Body: body})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) shopifyInfo(r *http.Request, st *station.Station) (ShopifyInfo, error) {
	tok, err := st.ShopifyCallbackToken(r.Context())
	if err != nil {
		return ShopifyInfo{}, err
	}
	base := st.ShopifyPublicURL()
	info := ShopifyInfo{Handle: st.ShopifyHandle(), WebhooksEnabled: st.ShopifyWebhooksEnabled(), PublicURLSet: base != "",
		Topics: []string{station.ShopifyTopicFulfillmentCreate, station.ShopifyTopicFulfillmentUpdate}}
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	info.CallbackURL = base + "/shopify/" + url.PathEscape(tok)
	info.WebhookURL = base + pathShopifyWebhook
	return info, nil
}

func (s *Server) getShopifyInfo(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	info, err := s.shopifyInfo(r, st)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store") // it carries the token
	writeJSON(w, http.StatusOK, info)
	return nil
}

func (s *Server) rotateShopifyToken(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	if _, err := st.RotateShopifyCallbackToken(r.Context(), true); err != nil {
		return err
	}
	return s.getShopifyInfo(w, r)
}

func (s *Server) listStock(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	items, err := st.ListStock(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stockList{Stock: items})
	return nil
}

func (s *Server) getStock(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	it, err := st.Stock(r.Context(), r.PathValue("sku"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, it)
	return nil
}

func (s *Server) setStock(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	var req stockSet
	if err := s.decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if req.Quantity == nil {
		return fieldError("quantity", "required")
	}
	it, err := st.SetStock(r.Context(), r.PathValue("sku"), *req.Quantity, req.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, it)
	return nil
}

func (s *Server) adjustStock(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	var req stockAdjust
	if err := s.decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if req.Delta == nil {
		return fieldError("delta", "required")
	}
	it, err := st.AdjustStock(r.Context(), r.PathValue("sku"), *req.Delta, req.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, it)
	return nil
}
