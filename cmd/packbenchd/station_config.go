package main

import (
	"fmt"
	"net/url"

	"github.com/packbench/packbench/station"
)

// stationEnvOverrides are the PACKBENCH_* variables for station's sections.
func stationEnvOverrides() []envOverride {
	return []envOverride{
		{"PACKBENCH_LABEL_FORMAT", "[label] format: native or raster", func(c *Config, v string) error { c.Label.Format = v; return nil }},
		{"PACKBENCH_CARRIER", "[carrier] kind: local or http", func(c *Config, v string) error { c.Carrier.Kind = v; return nil }},
		{"PACKBENCH_CARRIER_URL", "[carrier.http] url (with PACKBENCH_CARRIER=http)", func(c *Config, v string) error { c.Carrier.HTTP.URL = v; return nil }},
		{"PACKBENCH_SHOPIFY_SECRET", "[shopify] client_secret: the Shopify app's client secret (verifies webhooks)", func(c *Config, v string) error { c.Shopify.ClientSecret = v; return nil }},
		{"PACKBENCH_AUTO_ARM", "[flow] auto_arm_next: true or false", func(c *Config, v string) error {
			switch v {
			case "true", "1", "yes":
				c.Flow.AutoArmNext = true
			case "false", "0", "no":
				c.Flow.AutoArmNext = false
			default:
				return fmt.Errorf("want true or false, got %q", v)
			}
			return nil
		}},
	}
}

// validateStation fills station's defaults and checks its sections.
func (c *Config) validateStation() error {
	c.Config = c.Config.WithDefaults()
	if err := c.Config.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if p := c.Flow.Printer; p != "" {
		for _, pc := range c.Printers {
			if pc.Name == p {
				return nil
			}
		}
		return fmt.Errorf("config: flow.printer %q: no [[printer]] has that name", p)
	}
	return nil
}

// shopifyHosts is the host of [shopify] public_url: Shopify's callbacks
// and webhooks arrive with it as their Host (through a tunnel or proxy).
func shopifyHosts(c station.ShopifyConfig) []string {
	if c.PublicURL == "" {
		return nil
	}
	u, err := url.Parse(c.PublicURL) // checked by the station's Validate
	if err != nil || u.Hostname() == "" {
		return nil
	}
	return []string{u.Hostname()}
}
