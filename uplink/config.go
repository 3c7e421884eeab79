package uplink

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/packbench/packbench/internal/duration"
)

// Duration is the one config duration type (internal/duration): "300ms"
// or "5s" in TOML and JSON.
type Duration = duration.Duration

// Config is the [mqtt] section of the daemon's config. The daemon applies
// the environment (ApplyEnv: PACKBENCH_MQTT_URL…) and fills DeviceID when
// the file has none (DeviceIDFromMachineID) before calling Validate. MQTT
// is off while URL is empty.
type Config struct {
	// URL of the broker: mqtt://host[:1883] or mqtts://host[:8883]
	// (tcp://, ssl://, tls:// are accepted too). No credentials in it.
	URL string `toml:"url" json:"url"`
	// DeviceID names the bench in topics and is the MQTT client id (stable,
	// so the broker keeps the session). Empty: derived from the machine id
	// by the daemon (DeviceIDFromMachineID).
	DeviceID string `toml:"device_id" json:"device_id"`
	Username string `toml:"username" json:"username,omitempty"`
	// Password is never logged nor shown (String and config views omit it).
	Password string `toml:"password" json:"-"`
	// CAFile: PEM CA bundle that signs the broker's certificate. Empty with
	// mqtts: the system roots.
	CAFile string `toml:"ca_file" json:"ca_file,omitempty"`
	// CertFile and KeyFile: client certificate for mutual TLS (both or
	// neither).
	CertFile string `toml:"cert_file" json:"cert_file,omitempty"`
	KeyFile  string `toml:"key_file" json:"key_file,omitempty"`
	// TopicPrefix is the first topic level; default "packbench".
	TopicPrefix string `toml:"topic_prefix" json:"topic_prefix,omitempty"`
	// PoolSite and PoolGroup join the fleet pool: jobs published to
	// <prefix>/pool/<site>/jobs are shared between the group's benches.
	// Group defaults to "packbench".
	PoolSite  string `toml:"pool_site" json:"pool_site,omitempty"`
	PoolGroup string `toml:"pool_group" json:"pool_group,omitempty"`
	// WeightInterval is the shortest time between two weight messages;
	// default 250ms.
	WeightInterval Duration `toml:"weight_interval" json:"weight_interval,omitzero"`
	// HADiscovery publishes Home Assistant discovery (off by default).
	HADiscovery bool `toml:"ha_discovery" json:"ha_discovery"`
	// HAPrefix is Home Assistant's discovery prefix; default "homeassistant".
	HAPrefix string `toml:"ha_prefix" json:"ha_prefix,omitempty"`
	// KeepAlive is the MQTT keepalive; default 30s.
	KeepAlive Duration `toml:"keepalive" json:"keepalive,omitzero"`
}

// Defaults.
const (
	DefaultTopicPrefix    = "packbench"
	DefaultPoolGroup      = "packbench"
	DefaultWeightInterval = 250 * time.Millisecond
	DefaultKeepAlive      = 30 * time.Second
	DefaultHAPrefix       = "homeassistant"
)

// ApplyEnv overrides the file's values with the environment, as fleets
// are provisioned: PACKBENCH_MQTT_URL, PACKBENCH_MQTT_USERNAME and
// PACKBENCH_MQTT_PASSWORD (empty variables change nothing). getenv is
// os.Getenv outside tests.
func (c *Config) ApplyEnv(getenv func(string) string) {
	if v := getenv("PACKBENCH_MQTT_URL"); v != "" {
		c.URL = v
	}
	if v := getenv("PACKBENCH_MQTT_USERNAME"); v != "" {
		c.Username = v
	}
	if v := getenv("PACKBENCH_MQTT_PASSWORD"); v != "" {
		c.Password = v
	}
}

// Enabled reports whether MQTT is configured at all.
func (c Config) Enabled() bool { return c.URL != "" }

// withDefaults fills the optional fields.
func (c Config) withDefaults() Config {
	if c.TopicPrefix == "" {
		c.TopicPrefix = DefaultTopicPrefix
	}
	if c.PoolGroup == "" {
		c.PoolGroup = DefaultPoolGroup
	}
	if c.WeightInterval <= 0 {
		c.WeightInterval = Duration(DefaultWeightInterval)
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = Duration(DefaultKeepAlive)
	}
	if c.HAPrefix == "" {
		c.HAPrefix = DefaultHAPrefix
	}
	return c
}

// String shows the config without the password.
func (c Config) String() string {
	pw := ""
	if c.Password != "" {
		pw = " password=***"
	}
	return fmt.Sprintf("mqtt{url=%s device_id=%s username=%s%s ca_file=%s cert_file=%s pool=%s/%s}",
		c.URL, c.DeviceID, c.Username, pw, c.CAFile, c.CertFile, c.PoolGroup, c.PoolSite)
}

func configErr(field, format string, args ...any) error {
	return fmt.Errorf("%w: mqtt.%s: %s", ErrConfig, field, fmt.Sprintf(format, args...))
}

// Validate checks every field and names the first one that breaks a rule.
// DeviceID must be set (the daemon derives it first when the file has none).
func (c Config) Validate() error {
	if _, _, err := c.broker(); err != nil {
		return err
	}
	if err := validLevel("device_id", c.DeviceID); err != nil {
		return err
	}
	if c.TopicPrefix != "" {
		if err := validLevel("topic_prefix", c.TopicPrefix); err != nil {
			return err
		}
	}
	if c.PoolSite != "" {
		if err := validLevel("pool_site", c.PoolSite); err != nil {
			return err
		}
	}
	if c.PoolGroup != "" {
		if err := validLevel("pool_group", c.PoolGroup); err != nil {
			return err
		}
	}
	if c.HAPrefix != "" {
		if err := validLevel("ha_prefix", c.HAPrefix); err != nil {
			return err
		}
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		if c.CertFile == "" {
			return configErr("cert_file", "required when key_file is set (mutual TLS needs both)")
		}
		return configErr("key_file", "required when cert_file is set (mutual TLS needs both)")
	}
	for _, f := range []struct{ name, path string }{{"ca_file", c.CAFile}, {"cert_file", c.CertFile}, {"key_file", c.KeyFile}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return configErr(f.name, "%v", err)
		}
	}
	if c.Password != "" && c.Username == "" {
		return configErr("username", "required when password is set")
	}
	if c.WeightInterval < 0 {
		return configErr("weight_interval", "must not be negative")
	}
	if c.KeepAlive != 0 && (c.KeepAlive < Duration(time.Second) || c.KeepAlive > Duration(18*time.Hour)) {
		return configErr("keepalive", "%v: must be between 1s and 18h", time.Duration(c.KeepAlive))
	}
	return nil
}

// broker returns the URL paho dials and whether it uses TLS.
func (c Config) broker() (string, bool, error) {
	if c.URL == "" {
		return "", false, configErr("url", "required (mqtt://host:1883 or mqtts://host:8883)")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return "", false, configErr("url", "%v", err)
	}
	if u.User != nil {
		return "", false, configErr("url", "must not carry credentials: use username and password")
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", false, configErr("url", "%q has no host (want mqtt://host:1883)", c.URL)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return "", false, configErr("url", "%q: a broker URL has no path or query", c.URL)
	}
	var secure bool
	port := "1883"
	switch strings.ToLower(u.Scheme) {
	case "mqtt", "tcp":
	case "mqtts", "ssl", "tls":
		secure, port = true, "8883"
	default:
		return "", false, configErr("url", "scheme %q: want mqtt, mqtts, tcp, ssl or tls", u.Scheme)
	}
	if u.Port() != "" {
		port = u.Port()
	}
	host := u.Hostname()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	scheme := "tcp"
	if secure {
		scheme = "ssl"
	}
	if !secure && (c.CAFile != "" || c.CertFile != "") {
		return "", false, configErr("url", "%q is not TLS but ca_file/cert_file are set: use mqtts://", c.URL)
	}
	return scheme + "://" + host + ":" + port, secure, nil
}

// validLevel checks one topic level: 1-64 characters of [A-Za-z0-9_.-].
func validLevel(field, s string) error {
	if s == "" {
		return configErr(field, "required")
	}
	if len(s) > 64 {
		return configErr(field, "%d characters: at most 64", len(s))
	}
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return configErr(field, "%q: character %q at %d: only letters, digits, '-', '_' and '.' (no MQTT wildcards or '/')", s, r, i)
		}
	}
	return nil
}

// DeviceIDFromMachineID derives a stable device id ("pb-" and 12 hex
// digits) from the machine id file (/etc/machine-id when path is empty).
// The machine id itself is hashed, never published.
func DeviceIDFromMachineID(path string) (string, error) {
	if path == "" {
		path = "/etc/machine-id"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("uplink: derive device id: %w", err)
	}
	id := strings.TrimSpace(string(b))
	if id == "" {
		return "", fmt.Errorf("uplink: derive device id: %s is empty", path)
	}
	sum := sha256.Sum256([]byte("packbench device id\x00" + id))
	return "pb-" + hex.EncodeToString(sum[:6]), nil
}
