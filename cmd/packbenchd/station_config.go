package main

import (
	"fmt"
)

// stationEnvOverrides are the PACKBENCH_* variables for station's sections.
func stationEnvOverrides() []envOverride {
	return []envOverride{
		{"PACKBENCH_LABEL_FORMAT", "[label] format: native or raster", func(c *Config, v string) error { c.Label.Format = v; return nil }},
		{"PACKBENCH_CARRIER", "[carrier] kind: local or http", func(c *Config, v string) error { c.Carrier.Kind = v; return nil }},
		{"PACKBENCH_CARRIER_URL", "[carrier.http] url (with PACKBENCH_CARRIER=http)", func(c *Config, v string) error { c.Carrier.HTTP.URL = v; return nil }},
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
