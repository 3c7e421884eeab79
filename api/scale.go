package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/packbench/packbench/scale"
)

func (s *Server) getScale(w http.ResponseWriter, r *http.Request) error {
	rd, ok := s.deps.Scale.Latest()
	if !ok {
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "no reading from the scale yet")
	}
	writeJSON(w, http.StatusOK, rd)
	return nil
}

// okBody is the answer of commands that have nothing else to say.
type okBody struct {
	OK bool `json:"ok"`
}

func (s *Server) zeroScale(w http.ResponseWriter, r *http.Request) error {
	if err := s.deps.Scale.Zero(r.Context()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, okBody{true})
	return nil
}

func (s *Server) tareScale(w http.ResponseWriter, r *http.Request) error {
	if err := s.deps.Scale.Tare(r.Context()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, okBody{true})
	return nil
}

// simRequest drives the simulated scale: exactly one of grams, remove or
// script.
type simRequest struct {
	// Grams is the weight to show, as a JSON number ("1200", "7.5"): kept
	// as text so 0.001 g is exact.
	Grams  *json.Number `json:"grams"`
	Status string       `json:"status"` // stable (default), motion, zero, under, over, fault, needs-zero
	Remove bool         `json:"remove"`
	Script string       `json:"script"` // scale.ParseScript syntax: "place 1200g; bounce; settle"
}

// simAnswer is the answer of POST /api/v1/scale/sim.
type simAnswer struct {
	Reading  *scale.Reading `json:"reading,omitempty"`   // what the scale shows now (set, remove)
	ScriptMS int64          `json:"script_ms,omitempty"` // how long the started script runs
}

func (s *Server) simScale(w http.ResponseWriter, r *http.Request) error {
	sim := s.deps.Sim
	if sim == nil {
		return errorf(http.StatusConflict, CodeNotSimulated, "the scale is not simulated (scale driver is not \"sim\")")
	}
	var req simRequest
	if err := s.decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	n := 0
	for _, set := range []bool{req.Grams != nil, req.Remove, req.Script != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fieldError("grams", "give exactly one of grams, remove or script")
	}
	if req.Status != "" && req.Grams == nil {
		return fieldError("status", "only with grams")
	}
	switch {
	case req.Script != "":
		sc, err := scale.ParseScript(req.Script)
		if err != nil {
			return fieldError("script", "%s", strings.TrimPrefix(err.Error(), scale.ErrConfig.Error()+": "))
		}
		s.runScript(sc)
		writeJSON(w, http.StatusAccepted, simAnswer{ScriptMS: sc.Duration().Milliseconds()})
		return nil
	case req.Remove:
		s.stopScript()
		sim.Remove()
	default:
		mg, err := gramsToMilligrams(string(*req.Grams))
		if err != nil {
			return err
		}
		st := scale.StatusStable
		if req.Status != "" {
			if err := st.UnmarshalText([]byte(req.Status)); err != nil {
				return fieldError("status", "unknown status %q (stable, motion, zero, under, over, fault, needs-zero, needs-calibration)", req.Status)
			}
		}
		if mg < 0 && st != scale.StatusUnder {
			return fieldError("grams", "negative weight needs status \"under\"")
		}
		s.stopScript()
		sim.Set(mg, st)
	}
	cur := sim.Current()
	writeJSON(w, http.StatusOK, simAnswer{Reading: &cur})
	return nil
}

// gramsToMilligrams converts a JSON number of grams exactly.
func gramsToMilligrams(num string) (int64, error) {
	v, exp, err := scale.ParseDecimal(num)
	if err == nil {
		var mg int64
		mg, err = scale.ToMilligrams(v, exp, scale.UnitGram)
		if err == nil {
			return mg, nil
		}
	}
	if errors.Is(err, scale.ErrOutOfRange) {
		return 0, fieldError("grams", "out of range")
	}
	return 0, fieldError("grams", "want a decimal number of grams like 1200 or 7.5, got %s", num)
}

// runScript plays sc on the simulator in the background, replacing any
// script still running; Close stops it.
func (s *Server) runScript(sc scale.Script) {
	s.simMu.Lock()
	defer s.simMu.Unlock()
	s.stopScriptLocked()
	ctx, cancel := context.WithCancel(s.ctx)
	done := make(chan struct{})
	s.simCancel, s.simDone = cancel, done
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(done)
		defer cancel()
		if err := s.deps.Sim.Run(ctx, sc); err != nil && ctx.Err() == nil {
			s.log.Warn("simulator script stopped", "err", err)
		}
	}()
}

// stopScript ends a running script and waits until it has stopped, so a
// weight set next is not overwritten by the script's last step.
func (s *Server) stopScript() {
	s.simMu.Lock()
	defer s.simMu.Unlock()
	s.stopScriptLocked()
}

func (s *Server) stopScriptLocked() {
	if s.simCancel != nil {
		s.simCancel()
		<-s.simDone
		s.simCancel, s.simDone = nil, nil
	}
}

// readingSchema documents scale.Reading's JSON (its MarshalJSON).
func readingSchema() map[string]any {
	str := map[string]any{"type": "string"}
	integer := map[string]any{"type": "integer"}
	return map[string]any{"type": "object", "properties": map[string]any{
		"milligrams": map[string]any{"type": "integer", "description": "exact weight in milligrams; meaningful for stable, motion and zero"},
		"display":    map[string]any{"type": "string", "description": "as the scale shows it, e.g. 7.8 oz"},
		"unit":       str,
		"value":      integer,
		"exp":        integer,
		"status":     map[string]any{"type": "string", "enum": []string{"unknown", "stable", "motion", "zero", "under", "over", "fault", "needs-zero", "needs-calibration"}},
		"time":       map[string]any{"type": "string", "format": "date-time"},
		"source":     str,
		"error":      map[string]any{"type": "string", "description": "why, for fault readings"},
	}}
}
