package station

import (
	"fmt"
	"net/url"
	"slices"
)

// TrackingConfig is [tracking]: the shipment statuses the bench knows
// besides the standard four.
//
//	[tracking]
//	custom_statuses = ["held_at_depot", "returned"]
//	shop_url = "https://shop.example.com"
type TrackingConfig struct {
	// CustomStatuses are extra shipment statuses (Tracktor's "custom
	// statuses configured"): 1 to 64 characters of a-z, 0-9 and _,
	// starting with a letter; not one of the standard four, not an
	// exception status, not pre_transit; at most 32.
	CustomStatuses []string `toml:"custom_statuses" json:"custom_statuses,omitempty"`
	// ShopURL is answered as shop_url by Tracktor's fulfillment and order
	// JSON (empty: the bench has no shop to name).
	ShopURL string `toml:"shop_url" json:"shop_url,omitempty"`
}

// maxCustomStatuses bounds [tracking] custom_statuses.
const maxCustomStatuses = 32

func (t TrackingConfig) validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%w: tracking.%s: %s", ErrConfig, key, fmt.Sprintf(format, args...))
	}
	if len(t.CustomStatuses) > maxCustomStatuses {
		return bad("custom_statuses", "at most %d, not %d", maxCustomStatuses, len(t.CustomStatuses))
	}
	for i, c := range t.CustomStatuses {
		key := fmt.Sprintf("custom_statuses[%d]", i)
		if !isStatusName(c) {
			return bad(key, "want 1 to 64 characters of a-z, 0-9 and _ starting with a letter, not %q", c)
		}
		if slices.Contains(StandardStatuses(), c) || slices.Contains(ExceptionStatuses(), c) || c == topicPreTransit {
			return bad(key, "%q is already a standard status", c)
		}
		if slices.Contains(t.CustomStatuses[:i], c) {
			return bad(key, "%q is listed twice", c)
		}
	}
	if t.ShopURL != "" {
		if u, err := url.Parse(t.ShopURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("shop_url", "want an http or https URL, like https://shop.example.com")
		}
	}
	return nil
}

func isStatusName(s string) bool {
	if len(s) == 0 || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
