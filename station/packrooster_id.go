package station

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// AnyID is an id as Shopify, its Flow and Packrooster send it: a JSON
// number (123), a string ("123", "SO000001") or a Shopify global id
// ("gid://shopify/Order/123"). It keeps the text as given; ShopifyNumericID
// reads the number out of it.
type AnyID string

// UnmarshalJSON takes a string or an integer; a fraction, an exponent or
// any other JSON type is refused (the strict decoder names the field).
func (a *AnyID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = AnyID(s)
		return nil
	}
	if len(b) == 0 || !isDigits(string(b)) {
		return fmt.Errorf("want a number, a numeric string or a gid://shopify/... id, not %s", b)
	}
	*a = AnyID(b)
	return nil
}

// maxShopifyIDDigits bounds a numeric id (Shopify's are 64-bit).
const maxShopifyIDDigits = 20

// ShopifyNumericID returns the number of a Shopify id given as digits
// ("123") or as a global id ("gid://shopify/FulfillmentOrder/123" gives
// "123" and "FulfillmentOrder"). ok is false for anything else, such as a
// bench order id ("SO000001"). This is the one place ids are normalised:
// every seed edge that takes Shopify ids (Packrooster, Shopify, Tracktor)
// uses it.
func ShopifyNumericID(s string) (id, typ string, ok bool) {
	if isDigits(s) && len(s) <= maxShopifyIDDigits {
		return strings.TrimLeft(s, "0"), "", strings.Trim(s, "0") != ""
	}
	rest, found := strings.CutPrefix(s, "gid://shopify/")
	if !found {
		return "", "", false
	}
	typ, id, found = strings.Cut(rest, "/")
	if q := strings.IndexByte(id, '?'); q >= 0 {
		id = id[:q] // gids may carry parameters
	}
	if !found || !isAlnum(typ) || !isDigits(id) || len(id) > maxShopifyIDDigits || strings.Trim(id, "0") == "" {
		return "", "", false
	}
	return strings.TrimLeft(id, "0"), typ, true
}

// idCodes are the codes an id given to a seed edge is looked up by, in
// order: the id as given (a bench order id, a partner order id, an
// identifier) and, for a Shopify id, its number (Shopify orders keep their
// numeric ids as identifiers).
func idCodes(raw string) []string {
	var out []string
	if checkCode("id", raw, maxCodeLen) == nil {
		out = append(out, raw)
	}
	if n, _, ok := ShopifyNumericID(raw); ok && n != raw {
		out = append(out, n)
	}
	return out
}
