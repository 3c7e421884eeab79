package devicetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// StateChange is the body of POST /state; absent fields are left as they are.
type StateChange struct {
	PaperOut  *bool    `json:"paper_out,omitempty"`
	HeadOpen  *bool    `json:"head_open,omitempty"`
	RibbonOut *bool    `json:"ribbon_out,omitempty"`
	Paused    *bool    `json:"paused,omitempty"`
	Speed     *float64 `json:"speed,omitempty"`
	// NotReading stops (true) or resumes (false) reading the connections.
	NotReading *bool `json:"not_reading,omitempty"`
}

// LabelInfo is one received label in GET /labels.
type LabelInfo struct {
	Index int    `json:"index"` // from 1
	Bytes int    `json:"bytes"`
	ZPL   string `json:"zpl,omitempty"`  // the label itself (omitted with ?data=0)
	File  string `json:"file,omitempty"` // saved file, with --save-dir
}

// LabelList is the body of GET /labels.
type LabelList struct {
	Count  int         `json:"count"`
	Labels []LabelInfo `json:"labels"`
}

// ControlHandler serves the emulator's control API, for other processes
// (daemon end-to-end tests, browser tests):
//
//	GET  /state   the State as JSON
//	POST /state   a StateChange, e.g. {"paper_out":true}; answers the new State
//	GET  /labels  LabelList; ?since=N lists labels after the Nth; ?data=0 leaves out the ZPL
func (e *Emulator) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.Snapshot())
	})
	mux.HandleFunc("POST /state", func(w http.ResponseWriter, r *http.Request) {
		var c StateChange
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body: " + err.Error()})
			return
		}
		if c.Speed != nil && (*c.Speed < 0 || *c.Speed > 100) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("speed %v: must be 0 (instant) to 100 ips", *c.Speed)})
			return
		}
		e.set(func(s *State) {
			if c.PaperOut != nil {
				s.PaperOut = *c.PaperOut
			}
			if c.HeadOpen != nil {
				s.HeadOpen = *c.HeadOpen
			}
			if c.RibbonOut != nil {
				s.RibbonOut = *c.RibbonOut
			}
			if c.Paused != nil {
				s.Paused = *c.Paused
			}
			if c.Speed != nil {
				s.Speed = *c.Speed
			}
			if c.NotReading != nil {
				s.NotReading = *c.NotReading
			}
		})
		writeJSON(w, http.StatusOK, e.Snapshot())
	})
	mux.HandleFunc("GET /labels", func(w http.ResponseWriter, r *http.Request) {
		since := 0
		if v := r.URL.Query().Get("since"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("since %q: must be a number >= 0", v)})
				return
			}
			since = n
		}
		withData := r.URL.Query().Get("data") != "0"
		labels, files := e.Labels(), e.LabelFiles()
		out := LabelList{Count: len(labels), Labels: []LabelInfo{}}
		for i := since; i < len(labels); i++ {
			li := LabelInfo{Index: i + 1, Bytes: len(labels[i]), File: files[i]}
			if withData {
				li.ZPL = string(labels[i])
			}
			out.Labels = append(out.Labels, li)
		}
		writeJSON(w, http.StatusOK, out)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
