package api

import (
	"context"
	"net/http"

	"github.com/packbench/packbench/station"
)

// errNoStation answers the bench routes when the daemon runs without a
// station (it failed to start; the health report says why).
var errNoStation = errorf(http.StatusServiceUnavailable, CodeUnavailable, "the station is not running")

func (s *Server) station() (*station.Station, error) {
	if s.deps.Station == nil {
		return nil, errNoStation
	}
	return s.deps.Station, nil
}

// flowState is the current flow state; ok is false without a station.
func (s *Server) flowState(ctx context.Context) (station.FlowState, bool) {
	if s.deps.Station == nil {
		return station.FlowState{}, false
	}
	return s.deps.Station.State(), true
}

// subscribeFlow follows the flow (a closed-at-once nil channel without a
// station: a nil channel never fires in select).
func (s *Server) subscribeFlow() (<-chan station.FlowState, func()) {
	if s.deps.Station == nil {
		return nil, func() {}
	}
	return s.deps.Station.Subscribe()
}

func (s *Server) getFlow(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st.State())
	return nil
}

// scanRequest is the body of POST /api/v1/flow/scan.
type scanRequest struct {
	Code string `json:"code"` // an order id, partner order id or associated identifier (LPN)
}

// armRequest is the body of POST /api/v1/flow/arm.
type armRequest struct {
	OrderID string `json:"order_id"`
}

func (s *Server) scan(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	var req scanRequest
	if err := s.decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if req.Code == "" {
		return fieldError("code", "required")
	}
	fs, err := st.Scan(r.Context(), req.Code)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fs)
	return nil
}

func (s *Server) arm(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	var req armRequest
	if err := s.decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if req.OrderID == "" {
		return fieldError("order_id", "required")
	}
	fs, err := st.Arm(r.Context(), req.OrderID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fs)
	return nil
}

func (s *Server) disarm(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	fs, err := st.Disarm(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fs)
	return nil
}
