package uplink

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var pushCases = []struct {
	name, in string
	field    string // "" means valid
}{
	{"zpl", `{"id":"a1","type":"zpl","zpl":"^XA^XZ","copies":2,"printer":"p1"}`, ""},
	{"label", `{"id":"a2","type":"label","label":{"size":"4x6"}}`, ""},
	{"png", `{"id":"a3","type":"png","png":"iVBORw0KGgoAAAA="}`, ""},
	{"order", `{"id":"a4","type":"order","order":{"ref":"SO-1"}}`, ""},
	{"no id", `{"type":"zpl","zpl":"^XA^XZ"}`, "id"},
	{"control in id", `{"id":"a\u0001","type":"zpl","zpl":"^XA^XZ"}`, "id"},
	{"bad type", `{"id":"a5","type":"pdf","zpl":"^XA^XZ"}`, "type"},
	{"missing body", `{"id":"a6","type":"label"}`, "label"},
	{"two bodies", `{"id":"a7","type":"zpl","zpl":"^XA^XZ","label":{}}`, "label"},
	{"copies", `{"id":"a8","type":"zpl","zpl":"^XA^XZ","copies":1001}`, "copies"},
	{"negative copies", `{"id":"a8","type":"zpl","zpl":"^XA^XZ","copies":-1}`, "copies"},
	{"unknown field", `{"id":"a9","type":"zpl","zpl":"^XA^XZ","colour":"red"}`, "colour"},
	{"wrong type", `{"id":"a10","type":"zpl","zpl":"^XA^XZ","copies":"2"}`, "copies"},
	{"not base64", `{"id":"a11","type":"png","png":"%%%"}`, "png"},
	{"not png", `{"id":"a12","type":"png","png":"aGVsbG8="}`, "png"},
	{"label not object", `{"id":"a13","type":"label","label":[1]}`, "label"},
	{"trailing", `{"id":"a14","type":"zpl","zpl":"^XA^XZ"} {}`, "$"},
	{"duplicate", `{"id":"a15","type":"zpl","zpl":"^XA^XZ","copies":1,"copies":3}`, "copies"},
	{"not json", `{"id":`, "$"},
	{"empty", ``, "$"},
}

func TestDecodePush(t *testing.T) {
	for _, tc := range pushCases {
		t.Run(tc.name, func(t *testing.T) {
			j, err := DecodePush([]byte(tc.in))
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid push rejected: %v", err)
				}
				if j.Key() != "mqtt:"+j.ID {
					t.Errorf("key %q", j.Key())
				}
				return
			}
			var pe *PushError
			if !errors.As(err, &pe) || !errors.Is(err, ErrInvalidPush) {
				t.Fatalf("err %v, want a *PushError", err)
			}
			if pe.Field != tc.field || pe.Rule == "" {
				t.Errorf("field %q rule %q, want field %q", pe.Field, pe.Rule, tc.field)
			}
		})
	}
}

func FuzzDecodePush(f *testing.F) {
	for _, tc := range pushCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		j, err := DecodePush(in)
		if err != nil {
			var pe *PushError
			if !errors.As(err, &pe) || pe.Field == "" || pe.Rule == "" {
				t.Fatalf("error without field and rule: %v", err)
			}
			return
		}
		if err := j.Validate(); err != nil {
			t.Fatalf("decoded job does not validate: %v", err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	pem := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(pem, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := Config{URL: "mqtt://broker.example:1883", DeviceID: "bench-1"}
	cases := []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"ok", func(*Config) {}, ""},
		{"mqtts with ca", func(c *Config) { c.URL = "mqtts://b"; c.CAFile = pem }, ""},
		{"no url", func(c *Config) { c.URL = "" }, "url"},
		{"bad scheme", func(c *Config) { c.URL = "http://b" }, "url"},
		{"credentials in url", func(c *Config) { c.URL = "mqtt://u:p@b" }, "url"},
		{"no host", func(c *Config) { c.URL = "mqtt://" }, "url"},
		{"ca without tls", func(c *Config) { c.CAFile = pem }, "url"},
		{"no device id", func(c *Config) { c.DeviceID = "" }, "device_id"},
		{"wildcard device id", func(c *Config) { c.DeviceID = "a/+" }, "device_id"},
		{"cert without key", func(c *Config) { c.URL = "mqtts://b"; c.CertFile = pem }, "key_file"},
		{"missing ca file", func(c *Config) { c.URL = "mqtts://b"; c.CAFile = filepath.Join(dir, "nope") }, "ca_file"},
		{"password without user", func(c *Config) { c.Password = "s" }, "username"},
		{"bad pool site", func(c *Config) { c.PoolSite = "#" }, "pool_site"},
		{"keepalive", func(c *Config) { c.KeepAlive = 1 }, "keepalive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "mqtt."+tc.field+":") {
				t.Fatalf("err %v, want ErrConfig naming mqtt.%s", err, tc.field)
			}
		})
	}
	c := ok
	c.Username, c.Password = "u", "hunter2"
	if strings.Contains(c.String(), "hunter2") {
		t.Error("String shows the password")
	}
}

func TestDeviceIDFromMachineID(t *testing.T) {
	p := filepath.Join(t.TempDir(), "machine-id")
	if err := os.WriteFile(p, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := DeviceIDFromMachineID(p)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := DeviceIDFromMachineID(p)
	if a != b || !strings.HasPrefix(a, "pb-") || len(a) != 15 || strings.Contains(a, "0123456789") {
		t.Errorf("device id %q, %q", a, b)
	}
	if err := (Config{URL: "mqtt://b", DeviceID: a}).Validate(); err != nil {
		t.Errorf("derived id does not validate: %v", err)
	}
}

func TestApplyEnv(t *testing.T) {
	env := map[string]string{"PACKBENCH_MQTT_URL": "mqtts://fleet:8883", "PACKBENCH_MQTT_PASSWORD": "pw"}
	c := Config{URL: "mqtt://file", Username: "u"}
	c.ApplyEnv(func(k string) string { return env[k] })
	if c.URL != "mqtts://fleet:8883" || c.Username != "u" || c.Password != "pw" {
		t.Errorf("after ApplyEnv: %+v", c)
	}
}
