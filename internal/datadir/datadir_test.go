package datadir

import "testing"

func TestLocalURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080":   "http://127.0.0.1:8080",
		"0.0.0.0:9000":     "http://127.0.0.1:9000",
		"[::]:43211":       "http://127.0.0.1:43211",
		"192.168.1.20:80":  "http://192.168.1.20:80",
		"[2001:db8::1]:81": "http://[2001:db8::1]:81",
		"localhost:8080":   "http://localhost:8080",
	} {
		if got, err := LocalURL(addr); err != nil || got != want {
			t.Errorf("LocalURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	if _, err := LocalURL("nope"); err == nil {
		t.Error("an address without port gave no error")
	}
}
