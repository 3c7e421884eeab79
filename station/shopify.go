package station

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/packbench/packbench/internal/textcheck"
	"github.com/packbench/packbench/queue"
)

// The Shopify fulfillment service (seed 003): the bench is the service's
// callback_url (fetch_tracking_numbers, fetch_stock) and receives its
// fulfillments/create and fulfillments/update webhooks. This file keeps
// Shopify's shapes to the edge of the station: a pending fulfillment for
// the bench's handle becomes an ordinary Order.

// ShopifyConfig is [shopify].
type ShopifyConfig struct {
	// ClientSecret is the app's client secret: webhooks are verified by
	// X-Shopify-Hmac-Sha256 with it (or PACKBENCH_SHOPIFY_SECRET). Empty:
	// webhooks are refused (503), the callbacks still work.
	ClientSecret string `toml:"client_secret" json:"client_secret,omitempty"`
	// Handle is the fulfillment service's handle (default "packbench"):
	// only fulfillments whose service is this handle become bench orders.
	Handle string `toml:"handle" json:"handle"`
	// CallbackToken is the secret path segment of the callback_url
	// (…/shopify/{token}). Empty: one is generated on first use and kept
	// in the data file. At least 32 letters, digits, '-' or '_'.
	CallbackToken string `toml:"callback_token" json:"callback_token,omitempty"`
	// PublicURL is the bench as Shopify reaches it (a tunnel or reverse
	// proxy, "https://bench.example.com"); the callback_url is built on
	// it. Empty: built from the address the admin reached the bench at.
	PublicURL string `toml:"public_url" json:"public_url,omitempty"`
	// WebhookRetention is how long webhook ids are kept to recognise a
	// redelivery (default 7 days; Shopify retries for 48 hours).
	WebhookRetention Duration `toml:"webhook_retention" json:"webhook_retention,omitempty"`
}

// Defaults of [shopify].
const (
	DefaultShopifyHandle           = "packbench"
	DefaultShopifyWebhookRetention = 7 * 24 * time.Hour
	minCallbackToken               = 32
)

func (c *ShopifyConfig) withDefaults() {
	if c.Handle == "" {
		c.Handle = DefaultShopifyHandle
	}
	if c.WebhookRetention == 0 {
		c.WebhookRetention = Duration(DefaultShopifyWebhookRetention)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
}

func (c ShopifyConfig) validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%w: shopify.%s: %s", ErrConfig, key, fmt.Sprintf(format, args...))
	}
	if err := textcheck.ID(c.Handle, 255); err != nil {
		return bad("handle", "%v", err)
	}
	if c.ClientSecret != "" && strings.TrimSpace(c.ClientSecret) != c.ClientSecret {
		return bad("client_secret", "must not start or end with spaces")
	}
	if c.CallbackToken != "" && !validCallbackToken(c.CallbackToken) {
		return bad("callback_token", "want at least %d letters, digits, '-' or '_'", minCallbackToken)
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return bad("public_url", "want an http or https URL without query, like https://bench.example.com")
		}
	}
	if c.WebhookRetention < 0 {
		return bad("webhook_retention", "must not be negative")
	}
	return nil
}

func validCallbackToken(t string) bool {
	return len(t) >= minCallbackToken && len(t) <= 128 && tokenChars(t)
}

// Record kinds of the Shopify integration (HousekeepShopify expires the
// webhook ids; the callback token lives as long as the bench).
const (
	kindShopifyWebhooks    = "shopify-webhooks"     // webhook id → shopifyDelivery
	kindShopifyWebhookTime = "shopify-webhook-time" // queue.TimeKey(received, webhook id) → webhook id
	kindShopify            = "shopify"              // "callback-token" → the generated token
	shopifyTokenKey        = "callback-token"
	sourceShopify          = "shopify" // Order.Source of the orders webhooks create
	shopifyOrderIDPrefix   = "shopify-"
)

// Typed identifiers of a Shopify order (a bare id is also an identifier).
const (
	ShopifyCodeOrder            = "shopify-order:"
	ShopifyCodeFulfillment      = "shopify-fulfillment:"
	ShopifyCodeFulfillmentOrder = "shopify-fulfillment-order:"
)

// Event types of the Shopify integration.
const (
	// EventShopifyRefused: an authentic webhook named a fulfillment for the
	// bench that cannot become an order (an address missing a field); it is
	// acknowledged so Shopify does not retry it forever.
	EventShopifyRefused = "shopify.refused"
)

// ShopifyHMAC is Shopify's webhook signature: base64 of HMAC-SHA256 over
// the raw body, keyed with the client secret.
func ShopifyHMAC(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// ShopifyWebhooksEnabled reports whether a client secret is configured.
func (s *Station) ShopifyWebhooksEnabled() bool { return s.cfg.Shopify.ClientSecret != "" }

// VerifyShopifyWebhook reports whether sig (X-Shopify-Hmac-Sha256) signs
// body with the client secret; compared in constant time. False without a
// secret.
func (s *Station) VerifyShopifyWebhook(body []byte, sig string) bool {
	if s.cfg.Shopify.ClientSecret == "" || sig == "" {
		return false
	}
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(s.cfg.Shopify.ClientSecret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// ShopifyHandle is the fulfillment service handle the bench answers for.
func (s *Station) ShopifyHandle() string { return s.cfg.Shopify.Handle }

// ShopifyPublicURL is [shopify] public_url ("" when not set).
func (s *Station) ShopifyPublicURL() string { return s.cfg.Shopify.PublicURL }

// ShopifyCallbackToken returns the callback token: [shopify]
// callback_token, else the one generated (on the first call) and kept in
// the data file.
func (s *Station) ShopifyCallbackToken(ctx context.Context) (string, error) {
	if t := s.cfg.Shopify.CallbackToken; t != "" {
		return t, nil
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var tok string
	err := s.db.View(func(tx *queue.Tx) error {
		v, err := tx.GetRecord(kindShopify, shopifyTokenKey)
		tok = string(v)
		return err
	})
	if err == nil {
		return tok, nil
	}
	if !errors.Is(err, queue.ErrNotFound) {
		return "", fmt.Errorf("station: shopify callback token: %w", err)
	}
	return s.RotateShopifyCallbackToken(ctx, false)
}

// RotateShopifyCallbackToken makes a new callback token (the old one stops
// working at once; register the new callback_url). With force unset, a
// token already kept is returned instead. A configured callback_token
// cannot be rotated here (ErrConflict).
func (s *Station) RotateShopifyCallbackToken(ctx context.Context, force bool) (string, error) {
	if s.cfg.Shopify.CallbackToken != "" {
		return "", fmt.Errorf("station: rotate shopify callback token: %w: it is set in the config ([shopify] callback_token)", ErrConflict)
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("station: shopify callback token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(b[:]) // 32 characters
	err := s.db.Update(func(tx *queue.Tx) error {
		if !force {
			if v, err := tx.GetRecord(kindShopify, shopifyTokenKey); err == nil {
				tok = string(v) // a concurrent first call won
				return nil
			} else if !errors.Is(err, queue.ErrNotFound) {
				return err
			}
		}
		return tx.PutRecord(kindShopify, shopifyTokenKey, []byte(tok))
	})
	if err != nil {
		return "", fmt.Errorf("station: shopify callback token: %w", err)
	}
	return tok, nil
}

// CheckShopifyCallbackToken reports whether tok is the callback token,
// compared in constant time (over digests, so the length does not leak).
func (s *Station) CheckShopifyCallbackToken(ctx context.Context, tok string) (bool, error) {
	want, err := s.ShopifyCallbackToken(ctx)
	if err != nil {
		return false, err
	}
	a, b := sha256.Sum256([]byte(tok)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1, nil
}

// ShopifyDelivery is one webhook as received (already verified).
type ShopifyDelivery struct {
	WebhookID string // X-Shopify-Webhook-Id
	Topic     string // X-Shopify-Topic
	Shop      string // X-Shopify-Shop-Domain
	Body      []byte
}

// ShopifyResult says what a webhook did.
type ShopifyResult struct {
	// Result is created, exists (the fulfillment already has its order),
	// cancelled, kept (a cancel for an order already labelled), duplicate
	// (a redelivery), ignored or refused.
	Result  string `json:"result"`
	OrderID string `json:"order_id,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// Shopify webhook results.
const (
	ShopifyCreated   = "created"
	ShopifyExists    = "exists"
	ShopifyCancelled = "cancelled"
	ShopifyKept      = "kept"
	ShopifyDuplicate = "duplicate"
	ShopifyIgnored   = "ignored"
	ShopifyRefused   = "refused"
)

// Shopify topics the bench acts on.
const (
	ShopifyTopicFulfillmentCreate = "fulfillments/create"
	ShopifyTopicFulfillmentUpdate = "fulfillments/update"
)

// shopifyDelivery is the record kept per webhook id.
type shopifyDelivery struct {
	Topic    string        `json:"topic"`
	Shop     string        `json:"shop,omitempty"`
	Received time.Time     `json:"received"`
	Result   ShopifyResult `json:"result"`
}

// shopifyFulfillment is the part of Shopify's Fulfillment resource the
// bench reads. Shopify adds members over time: unknown ones are ignored.
type shopifyFulfillment struct {
	ID                 json.Number `json:"id"`
	OrderID            json.Number `json:"order_id"`
	FulfillmentOrderID json.Number `json:"fulfillment_order_id"` // not in every payload
	Name               string      `json:"name"`
	Status             string      `json:"status"`
	Service            string      `json:"service"`
	Email              string      `json:"email"`
	Destination        *struct {
		Name         string `json:"name"`
		FirstName    string `json:"first_name"`
		LastName     string `json:"last_name"`
		Company      string `json:"company"`
		Address1     string `json:"address1"`
		Address2     string `json:"address2"`
		City         string `json:"city"`
		Province     string `json:"province"`
		ProvinceCode string `json:"province_code"`
		Zip          string `json:"zip"`
		Country      string `json:"country"`
		CountryCode  string `json:"country_code"`
		Phone        string `json:"phone"`
	} `json:"destination"`
	LineItems []struct {
		ID       json.Number `json:"id"`
		SKU      string      `json:"sku"`
		Name     string      `json:"name"`
		Title    string      `json:"title"`
		Quantity int         `json:"quantity"`
	} `json:"line_items"`
}

// ShopifySeed is what a Shopify order keeps in Order.Seed: where it came
// from, the ids other integrations look it up by, and the fulfillment as
// Shopify sent it.
type ShopifySeed struct {
	Shop               string          `json:"shop,omitempty"`
	Name               string          `json:"name"`                 // fulfillment name, "#1001.1"
	OrderName          string          `json:"order_name,omitempty"` // "#1001"
	FulfillmentID      string          `json:"fulfillment_id"`
	OrderID            string          `json:"order_id,omitempty"`
	FulfillmentOrderID string          `json:"fulfillment_order_id,omitempty"`
	Fulfillment        json.RawMessage `json:"fulfillment,omitempty"`
}

// ShopifyWebhook handles a verified webhook. A webhook id seen before is a
// duplicate and changes nothing; topics other than fulfillments/create and
// fulfillments/update are ignored; a pending fulfillment for the bench's
// handle becomes an order (once per fulfillment id); an update to
// cancelled cancels the order unless a label was issued for it. A
// fulfillment the bench cannot ship (no usable address) is refused: the
// result says why and a shopify.refused event is written.
func (s *Station) ShopifyWebhook(ctx context.Context, d ShopifyDelivery) (ShopifyResult, error) {
	if err := ctx.Err(); err != nil {
		return ShopifyResult{}, err
	}
	if d.WebhookID != "" {
		if err := checkText("X-Shopify-Webhook-Id", d.WebhookID, maxCodeLen); err != nil {
			return ShopifyResult{}, fmt.Errorf("station: shopify webhook: %w", err)
		}
		var prev shopifyDelivery
		err := s.db.View(func(tx *queue.Tx) error { return getJSON(tx, kindShopifyWebhooks, d.WebhookID, &prev) })
		if err == nil {
			return ShopifyResult{Result: ShopifyDuplicate, OrderID: prev.Result.OrderID}, nil
		} else if !errors.Is(err, queue.ErrNotFound) {
			return ShopifyResult{}, fmt.Errorf("station: shopify webhook: %w", err)
		}
	}
	res, err := s.shopifyApply(ctx, d)
	if err != nil {
		return ShopifyResult{}, fmt.Errorf("station: shopify webhook %s: %w", d.Topic, err)
	}
	if d.WebhookID != "" {
		now := s.clock.Now().UTC()
		rec := shopifyDelivery{Topic: d.Topic, Shop: d.Shop, Received: now, Result: res}
		err := s.db.Update(func(tx *queue.Tx) error {
			if _, err := tx.GetRecord(kindShopifyWebhooks, d.WebhookID); err == nil {
				return nil // a concurrent delivery of the same id recorded it
			}
			if err := putJSON(tx, kindShopifyWebhooks, d.WebhookID, rec); err != nil {
				return err
			}
			return tx.PutRecord(kindShopifyWebhookTime, queue.TimeKey(now, d.WebhookID), []byte(d.WebhookID))
		})
		if err != nil {
			return ShopifyResult{}, fmt.Errorf("station: shopify webhook: record %s: %w", d.WebhookID, err)
		}
	}
	s.log.Info("shopify webhook", "topic", d.Topic, "shop", d.Shop, "result", res.Result, "order", res.OrderID, "reason", res.Reason)
	return res, nil
}

// shopifyApply does what the webhook asks. It is idempotent by itself
// (the order id is the fulfillment's), so a crash before the webhook id
// is recorded only makes the redelivery find the order there.
func (s *Station) shopifyApply(ctx context.Context, d ShopifyDelivery) (ShopifyResult, error) {
	if d.Topic != ShopifyTopicFulfillmentCreate && d.Topic != ShopifyTopicFulfillmentUpdate {
		return ShopifyResult{Result: ShopifyIgnored, Reason: "topic " + d.Topic + " is not handled"}, nil
	}
	var f shopifyFulfillment
	if err := json.Unmarshal(d.Body, &f); err != nil {
		return ShopifyResult{}, fieldErr("(body)", "not a Shopify fulfillment: %v", err)
	}
	fid := f.ID.String()
	if !isDigits(fid) {
		return ShopifyResult{}, fieldErr("id", "want the fulfillment's numeric id")
	}
	if f.Service != s.cfg.Shopify.Handle {
		return ShopifyResult{Result: ShopifyIgnored, Reason: fmt.Sprintf("service %q is not this bench's handle %q", f.Service, s.cfg.Shopify.Handle)}, nil
	}
	id := shopifyOrderIDPrefix + fid
	cur, err := s.Order(ctx, id)
	exists := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return ShopifyResult{}, err
	}
	switch f.Status {
	case "pending":
		if exists {
			return ShopifyResult{Result: ShopifyExists, OrderID: id}, nil
		}
		return s.shopifyCreate(ctx, d, f, id)
	case "cancelled":
		if !exists {
			return ShopifyResult{Result: ShopifyIgnored, Reason: "no order for fulfillment " + fid}, nil
		}
		if cur.Status == OrderCancelled {
			return ShopifyResult{Result: ShopifyCancelled, OrderID: id}, nil
		}
		if cur.Labelled > 0 || cur.Status == OrderShipped {
			return ShopifyResult{Result: ShopifyKept, OrderID: id, Reason: "a label was already issued: void it on the bench to cancel"}, nil
		}
		if _, err := s.CancelOrder(ctx, id, "shopify: fulfillment cancelled"); err != nil {
			return ShopifyResult{}, err
		}
		return ShopifyResult{Result: ShopifyCancelled, OrderID: id}, nil
	}
	if exists {
		return ShopifyResult{Result: ShopifyExists, OrderID: id, Reason: "status " + f.Status + " changes nothing on the bench"}, nil
	}
	return ShopifyResult{Result: ShopifyIgnored, Reason: fmt.Sprintf("status %q: only pending fulfillments are taken", f.Status)}, nil
}

func (s *Station) shopifyCreate(ctx context.Context, d ShopifyDelivery, f shopifyFulfillment, id string) (ShopifyResult, error) {
	seed := ShopifySeed{Shop: d.Shop, Name: f.Name, FulfillmentID: f.ID.String(), OrderID: f.OrderID.String(),
		FulfillmentOrderID: f.FulfillmentOrderID.String()}
	if i := strings.LastIndexByte(f.Name, '.'); i > 0 {
		seed.OrderName = f.Name[:i] // "#1001.1" is the first fulfillment of "#1001"
	}
	if len(d.Body) < maxSeedBytes/2 {
		seed.Fulfillment = json.RawMessage(d.Body)
	}
	sb, err := json.Marshal(seed)
	if err != nil {
		return ShopifyResult{}, err
	}
	o := Order{ID: id, Source: sourceShopify, Seed: sb, Packages: 1}
	if dst := f.Destination; dst != nil {
		name := dst.Name
		if name == "" {
			name = strings.TrimSpace(dst.FirstName + " " + dst.LastName)
		}
		state := dst.ProvinceCode
		if state == "" {
			state = dst.Province
		}
		o.ShipTo = Address{Name: name, Company: dst.Company, Street1: dst.Address1, Street2: dst.Address2, City: dst.City,
			State: state, Zip: dst.Zip, Country: dst.CountryCode, Phone: dst.Phone, Email: f.Email}
	}
	for _, li := range f.LineItems {
		desc := li.Name
		if desc == "" {
			desc = li.Title
		}
		o.Lines = append(o.Lines, Line{SKU: li.SKU, Description: truncate(desc, maxTextLen), Quantity: li.Quantity, Ref: li.ID.String()})
	}
	o.AssociatedIdentifiers = shopifyCodes(seed)
	created, err := s.CreateOrder(ctx, o)
	var oe *OrderExistsError
	switch {
	case errors.As(err, &oe):
		return ShopifyResult{Result: ShopifyExists, OrderID: id}, nil
	case errors.Is(err, ErrInvalid):
		var fe *FieldError
		reason := err.Error()
		if errors.As(err, &fe) {
			reason = fe.Error()
		}
		if err := s.db.Update(func(tx *queue.Tx) error {
			return appendEvent(tx, EventShopifyRefused, id, map[string]string{"fulfillment_id": seed.FulfillmentID,
				"name": seed.Name, "shop": d.Shop, "reason": reason})
		}); err != nil {
			return ShopifyResult{}, err
		}
		s.log.Warn("shopify fulfillment refused", "fulfillment", seed.FulfillmentID, "name", seed.Name, "reason", reason)
		return ShopifyResult{Result: ShopifyRefused, Reason: reason}, nil
	case err != nil:
		return ShopifyResult{}, err
	}
	return ShopifyResult{Result: ShopifyCreated, OrderID: created.ID}, nil
}

// shopifyCodes are the codes a scan or a lookup finds a Shopify order by:
// the fulfillment and order names without '#' (a scan of "#1001" drops
// it too), the bare ids and the typed ids. Codes an id may not hold are
// left out.
func shopifyCodes(sd ShopifySeed) []string {
	var out []string
	add := func(c string) {
		if c == "" || checkCode("", c, maxCodeLen) != nil {
			return
		}
		for _, x := range out {
			if x == c {
				return
			}
		}
		out = append(out, c)
	}
	add(strings.TrimPrefix(sd.Name, "#"))
	add(strings.TrimPrefix(sd.OrderName, "#"))
	for _, p := range []struct{ prefix, id string }{
		{ShopifyCodeFulfillment, sd.FulfillmentID}, {ShopifyCodeOrder, sd.OrderID}, {ShopifyCodeFulfillmentOrder, sd.FulfillmentOrderID},
	} {
		if p.id != "" {
			add(p.id)
			add(p.prefix + p.id)
		}
	}
	return out
}

// truncate cuts s to at most n bytes on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ShopifySeedOf returns the Shopify ids an order came with; false for an
// order that did not come from a Shopify webhook.
func ShopifySeedOf(o Order) (ShopifySeed, bool) {
	var sd ShopifySeed
	if o.Source != sourceShopify || len(o.Seed) == 0 || json.Unmarshal(o.Seed, &sd) != nil {
		return ShopifySeed{}, false
	}
	return sd, true
}

// OrderByShopifyID finds the bench order of a Shopify id: a number, a
// numeric string or a gid ("gid://shopify/Order/450789469",
// ".../Fulfillment/…", ".../FulfillmentOrder/…"). A bare number is tried
// as a fulfillment order, fulfillment and order id in that order. An
// order with several fulfillments on the bench finds the oldest still to
// label (else the newest). Nothing is ErrNotFound; a malformed id is a
// *FieldError for field "id".
func (s *Station) OrderByShopifyID(ctx context.Context, id string) (Order, error) {
	num, typ, ok := ShopifyNumericID(id)
	if !ok {
		return Order{}, fmt.Errorf("station: order by shopify id: %w", fieldErr("id", "want a number, a numeric string or a gid://shopify/... id, not %q", id))
	}
	var prefixes []string
	switch typ {
	case "Order":
		prefixes = []string{ShopifyCodeOrder}
	case "Fulfillment":
		prefixes = []string{ShopifyCodeFulfillment}
	case "FulfillmentOrder":
		prefixes = []string{ShopifyCodeFulfillmentOrder}
	case "":
		prefixes = []string{ShopifyCodeFulfillmentOrder, ShopifyCodeFulfillment, ShopifyCodeOrder}
	default:
		return Order{}, fmt.Errorf("station: order by shopify id %q: %w", id, ErrNotFound)
	}
	for _, p := range prefixes {
		o, err := s.FindOrder(ctx, p+num)
		if err == nil {
			return o, nil
		}
		if !errors.Is(err, ErrNoOrder) {
			return Order{}, err
		}
	}
	return Order{}, fmt.Errorf("station: order by shopify id %q: %w", id, ErrNotFound)
}

// ShopifyTrackingNumbers answers fetch_tracking_numbers: for each
// fulfillment name ("#1001.1") of a Shopify order the bench labelled, the
// tracking number of its first labelled package. Names the bench does not
// know, or has not labelled yet, are left out. A non-empty shop leaves out
// orders that came from another shop.
func (s *Station) ShopifyTrackingNumbers(ctx context.Context, shop string, names []string) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := map[string]string{}
	err := s.db.View(func(tx *queue.Tx) error {
		for _, name := range names {
			code := strings.TrimPrefix(name, "#")
			if code == "" || checkCode("", code, maxCodeLen) != nil {
				continue
			}
			orders, err := s.ordersMatching(tx, code)
			if err != nil {
				return err
			}
			for i := len(orders) - 1; i >= 0; i-- { // the newest first
				o := orders[i]
				sd, ok := ShopifySeedOf(o)
				if !ok || strings.TrimPrefix(sd.Name, "#") != code || (shop != "" && sd.Shop != "" && !strings.EqualFold(sd.Shop, shop)) {
					continue
				}
				pkgs, err := listPackages(tx, o.ID)
				if err != nil {
					return err
				}
				for _, p := range pkgs {
					if p.Status == PackageLabelled && p.TrackingNumber != "" {
						out[name] = p.TrackingNumber
						break
					}
				}
				if _, ok := out[name]; ok {
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("station: shopify tracking numbers: %w", err)
	}
	return out, nil
}

// HousekeepShopify forgets webhook ids received more than keep ago (0:
// [shopify] webhook_retention). It returns how many it deleted.
func (s *Station) HousekeepShopify(ctx context.Context, keep time.Duration) (int, error) {
	if keep <= 0 {
		keep = s.cfg.Shopify.WebhookRetention.Std()
	}
	n, err := s.db.ExpireRecords(ctx, kindShopifyWebhookTime, s.clock.Now().Add(-keep), func(tx *queue.Tx, id string) (bool, error) {
		return true, tx.DeleteRecord(kindShopifyWebhooks, id)
	})
	if err != nil {
		return n, fmt.Errorf("station: housekeep shopify webhooks: %w", err)
	}
	return n, nil
}
