package api_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packbench/packbench/api"
)

// links is the daemon's view of its links out, settable by tests.
type links struct {
	mu sync.Mutex
	ls []api.LinkHealth
}

func (l *links) Links() []api.LinkHealth {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]api.LinkHealth(nil), l.ls...)
}

func (l *links) set(ls ...api.LinkHealth) {
	l.mu.Lock()
	l.ls = ls
	l.mu.Unlock()
}

// TestHealthLinks: the health lists the links out; a connected or
// connecting link leaves it ok, a disconnected or stopped one degrades it
// with the reason; without Deps.Links the member is absent.
func TestHealthLinks(t *testing.T) {
	ls := &links{}
	b := newBench(t, &benchOptions{links: ls})
	since := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		link    api.LinkHealth
		status  string
		problem string
	}{
		{api.LinkHealth{Name: "mqtt", State: "connecting"}, api.HealthOK, ""},
		{api.LinkHealth{Name: "mqtt", State: "connected", Since: since}, api.HealthOK, ""},
		{api.LinkHealth{Name: "mqtt", State: api.LinkDisconnected, Error: "broker certificate not trusted: /etc/ca.pem", Since: since},
			api.HealthDegraded, "mqtt: disconnected: broker certificate not trusted: /etc/ca.pem"},
		{api.LinkHealth{Name: "mqtt", State: api.LinkStopped, Error: "no PEM certificate"}, api.HealthDegraded, "mqtt: stopped: no PEM certificate"},
	} {
		ls.set(tc.link)
		// With the key: the link's error, which names URLs and paths.
		var h api.Health
		a := b.do("GET", "/api/v1/health", nil, "X-Api-Key", testKey)
		a.decode(t, &h)
		if a.status != 200 || h.Status != tc.status || len(h.Links) != 1 || h.Links[0].State != tc.link.State ||
			h.Links[0].Error != tc.link.Error || !h.Links[0].Since.Equal(tc.link.Since) {
			t.Fatalf("%s: %d %s", tc.link.State, a.status, a.body)
		}
		if got := strings.Join(h.Problems, "\n"); tc.problem != "" && !strings.Contains(got, tc.problem) || tc.problem == "" && got != "" {
			t.Fatalf("%s: problems %q, want %q", tc.link.State, got, tc.problem)
		}
		// Without a key: the same state and status, not the error text.
		h = api.Health{}
		a = b.do("GET", "/api/v1/health", nil, "Authorization", "")
		a.decode(t, &h)
		if a.status != 200 || h.Status != tc.status || len(h.Links) != 1 || h.Links[0].State != tc.link.State || h.Links[0].Error != "" {
			t.Fatalf("%s without a key: %d %s", tc.link.State, a.status, a.body)
		}
		if tc.link.Error != "" && strings.Contains(string(a.body), tc.link.Error) {
			t.Fatalf("%s without a key shows the link error: %s", tc.link.State, a.body)
		}
	}

	plain := newBench(t, nil)
	a := plain.do("GET", "/api/v1/health", nil, "Authorization", "")
	if a.status != 200 || strings.Contains(string(a.body), `"links"`) {
		t.Fatalf("without Deps.Links: %d %s", a.status, a.body)
	}
}
