package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
)

// PrinterInfo is one printer as GET /api/v1/printers and the health
// report show it. The daemon fills it from the printer's config and its
// worker's last status (see PrinterFromStatus).
type PrinterInfo struct {
	Name      string       `json:"name"`
	Transport string       `json:"transport"`         // usb, tcp, serial, spool
	Address   string       `json:"address,omitempty"` // host:port, device path or spool folder
	State     device.State `json:"state"`             // ready, paper_out, ..., unknown
	Known     bool         `json:"known"`             // false: the printer has no status channel
	Reason    string       `json:"reason,omitempty"`  // why it is not ready
	Updated   time.Time    `json:"updated,omitzero"`  // when the status was read
	LastJob   queue.JobID  `json:"last_job,omitzero"` // the last job the worker handled
	LastState queue.State  `json:"last_job_state,omitempty"`
}

// PrinterFromStatus fills the config and status part of a PrinterInfo;
// ok is false before the worker read any status. The printer's password
// and raw flags stay out.
func PrinterFromStatus(cfg device.PrinterConfig, st device.Status, ok bool) PrinterInfo {
	p := PrinterInfo{Name: cfg.Name, Transport: cfg.Transport, State: device.StateUnknown}
	switch cfg.Transport {
	case "usb":
		p.Address = firstNonEmpty(cfg.Device, cfg.Match)
	case "serial":
		p.Address = cfg.Device
	case "spool":
		p.Address = cfg.Path
	default:
		p.Address = cfg.Address
	}
	if ok {
		p.State, p.Known, p.Reason, p.Updated = st.State, st.Known, st.Reason, st.Time
	}
	return p
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func (s *Server) printers() []PrinterInfo {
	if s.deps.Printers == nil {
		return []PrinterInfo{}
	}
	ps := s.deps.Printers.Printers()
	if ps == nil {
		ps = []PrinterInfo{}
	}
	return ps
}

func (s *Server) listPrinters(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, struct {
		Printers []PrinterInfo `json:"printers"`
	}{s.printers()})
	return nil
}

// Health statuses.
const (
	HealthOK       = "ok"       // every part works
	HealthDegraded = "degraded" // the bench answers but a part needs a person (paper out, scale away)
	HealthDown     = "down"     // the data file is unusable: nothing can be accepted (HTTP 503)
)

// Health is the answer of GET /api/v1/health. It carries no secrets and
// no configuration. Without a key, Printers hold name, transport and
// state only, Scale has no Reading, Flow is just {"state": ...} and Links
// have no Error; with a key Flow is the whole station.FlowState.
type Health struct {
	Status        string        `json:"status"`
	DeviceID      string        `json:"device_id,omitempty"`
	Version       string        `json:"version"`
	StartedAt     time.Time     `json:"started_at"`
	UptimeSeconds int64         `json:"uptime_seconds"`
	Problems      []string      `json:"problems,omitempty"`
	Queue         QueueHealth   `json:"queue"`
	Printers      []PrinterInfo `json:"printers"`
	Scale         ScaleHealth   `json:"scale"`
	Links         []LinkHealth  `json:"links,omitempty"`
	Flow          any           `json:"flow,omitempty"`
	// Light is what the bench's status LED shows, so a bench without a
	// screen is diagnosed from `packbench status` (status words and codes
	// only: also without a key).
	Light *LightHealth `json:"light,omitempty"`
}

// LightHealth is the status LED: its mode (ready, armed, working,
// attention), the blink code of attention and the codes behind it, most
// urgent first (docs/headless.md).
type LightHealth struct {
	LED       string   `json:"led"`
	Blinks    int      `json:"blinks,omitempty"`
	Attention []string `json:"attention,omitempty"`
}

// LinkHealth is one link out (the MQTT cloud link) in the health report.
type LinkHealth struct {
	Name string `json:"name"` // "mqtt"
	// State is "connected", "connecting" (no attempt finished yet),
	// "disconnected" (retrying; Error says why) or "stopped" (given up).
	State string    `json:"state"`
	Error string    `json:"error,omitempty"`
	Since time.Time `json:"since,omitzero"` // when State last changed
}

// Link states that degrade the health.
const (
	LinkDisconnected = "disconnected"
	LinkStopped      = "stopped"
)

// QueueHealth describes the data file.
type QueueHealth struct {
	Open bool                `json:"open"`
	Jobs map[queue.State]int `json:"jobs"`
	// Error says why it is not open, without paths.
	Error string `json:"error,omitempty"`
}

// ScaleHealth describes the scale.
type ScaleHealth struct {
	Status    string         `json:"status"` // ok, fault, no_reading
	Simulated bool           `json:"simulated"`
	Reading   *scale.Reading `json:"reading,omitempty"`
}

// publicFlow is the flow in the health report of a caller without a key.
type publicFlow struct {
	State string `json:"state"`
}

// health is the bench's health. Without detail (no valid key) it holds
// status words and counts only: no reading, no order, no tracking number,
// no printer reason, no link error (those name customers, URLs and paths;
// a DNS-rebinding page or a LAN neighbour reads this without a key).
func (s *Server) health(ctx context.Context, detail bool) (Health, int) {
	now := s.opt.Clock.Now()
	h := Health{
		Status:        HealthOK,
		DeviceID:      s.deps.DeviceID,
		Version:       s.deps.Version,
		StartedAt:     s.deps.Started.UTC(),
		UptimeSeconds: int64(now.Sub(s.deps.Started) / time.Second),
		// A copy: the daemon's slice is not ours to change.
		Printers: append([]PrinterInfo{}, s.printers()...),
	}
	// Addresses are for key holders (GET /api/v1/printers).
	for i := range h.Printers {
		h.Printers[i].Address = ""
		if !detail {
			// A printer's reason can quote its address or the last job.
			p := &h.Printers[i]
			*p = PrinterInfo{Name: p.Name, Transport: p.Transport, State: p.State, Known: p.Known}
		}
	}
	code := http.StatusOK
	degrade := func(why string) {
		if h.Status == HealthOK {
			h.Status = HealthDegraded
		}
		h.Problems = append(h.Problems, why)
	}
	counts, err := s.deps.Queue.Counts(ctx)
	if err != nil {
		h.Status, code = HealthDown, http.StatusServiceUnavailable
		h.Queue.Error = "data file unusable"
		h.Problems = append(h.Problems, "queue: data file unusable")
	} else {
		h.Queue.Open, h.Queue.Jobs = true, counts
		if n := counts[queue.StateUncertain]; n > 0 {
			degrade(fmt.Sprintf("queue: %d label(s) may not have printed before a restart: answer Printed? Yes / Print again on the bench", n))
		}
	}
	if ds, err := s.deps.Queue.DiskSpace(); err == nil && ds.Low() {
		// Status words without a key; the sizes with one.
		why := "disk: low on space"
		if ds.Full() {
			why = "disk: full: new orders, labels and jobs are refused"
		}
		if detail {
			why += fmt.Sprintf(" (%s free, refused under %s, warned under %s)",
				queue.FormatBytes(ds.Free), queue.FormatBytes(ds.MinFree), queue.FormatBytes(ds.WarnFree))
		}
		degrade(why)
	}
	for _, p := range h.Printers {
		if p.State.Blocking() || p.State == device.StateOffline || p.State == device.StateError {
			degrade("printer " + p.Name + ": " + strings.ReplaceAll(string(p.State), "_", " "))
		}
	}
	if s.deps.Station != nil {
		// Queued for a printer the config no longer has: nothing takes them.
		for _, u := range s.deps.Station.Unprintable() {
			degrade(u.String())
		}
	}
	h.Scale.Simulated = s.deps.Sim != nil
	if rd, ok := s.deps.Scale.Latest(); !ok {
		h.Scale.Status = "no_reading"
		degrade("scale: no reading yet")
	} else {
		if detail {
			h.Scale.Reading = &rd
		}
		h.Scale.Status = "ok"
		if rd.Status == scale.StatusFault {
			h.Scale.Status = "fault"
			degrade("scale: not answering")
		}
	}
	if s.deps.Links != nil {
		h.Links = append([]LinkHealth(nil), s.deps.Links.Links()...)
		for i := range h.Links {
			if !detail {
				h.Links[i].Error = ""
			}
		}
		for _, l := range h.Links {
			if l.State == LinkDisconnected || l.State == LinkStopped {
				why := l.Name + ": " + l.State
				if l.Error != "" {
					why += ": " + l.Error
				}
				degrade(why)
			}
		}
	}
	if fs, ok := s.flowState(ctx); ok {
		h.Light = &LightHealth{LED: fs.LED, Blinks: fs.Blinks, Attention: fs.Attention}
		if detail {
			h.Flow = fs
		} else {
			// The armed order names a customer, a city and a tracking
			// number: without a key only the state word.
			h.Flow = publicFlow{State: fs.State}
		}
	}
	return h, code
}

func (s *Server) getHealth(w http.ResponseWriter, r *http.Request) error {
	// Health answers without a key; a valid key adds the details.
	h, code := s.health(r.Context(), s.authenticate(r, false) == nil)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, code, h)
	return nil
}

// secretWords mark configuration members GET /api/v1/config never shows.
var secretWords = []string{"key", "secret", "password", "passwd", "token", "authorization", "credential"}

func (s *Server) getConfig(w http.ResponseWriter, r *http.Request) error {
	b, err := json.Marshal(s.deps.Config)
	if err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, redact(v))
	return nil
}

// redact blanks members whose names say they hold secrets, at any depth.
// Header maps of an http carrier ("Authorization", "X-Api-Key") are
// caught by name too.
func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if strings.EqualFold(k, "headers") {
				// Extra upstream headers carry credentials under any name.
				if m, ok := x.(map[string]any); ok {
					for hk := range m {
						m[hk] = "[redacted]"
					}
				}
				continue
			}
			if isSecretName(k) {
				if x != nil && x != "" {
					t[k] = "[redacted]"
				}
				continue
			}
			t[k] = redact(x)
		}
	case []any:
		for i := range t {
			t[i] = redact(t[i])
		}
	}
	return v
}

func isSecretName(k string) bool {
	k = strings.ToLower(k)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}
