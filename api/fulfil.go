package api

import (
	"net/http"

	"github.com/packbench/packbench/internal/strictjson"
	"github.com/packbench/packbench/station"
)

// fulfilLastWins is the one exception to the strict decoder the seed's own
// example needs: it gives packages[].amount twice, and the last value wins
// (as in the JSON parsers Fulfil's integrators use). Every other repeated
// member is still refused.
const fulfilLastWins = "packages[].amount"

// fulfilLabel serves POST /label (Fulfil, seed 002). The key comes as for
// every route: Authorization: Bearer <key> or X-Api-Key: <key>.
func (s *Server) fulfilLabel(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	var req station.FulfilLabelRequest
	if err := s.decodeJSONWith(w, r, &req, false, &strictjson.Options{LastWins: []string{fulfilLastWins}}); err != nil {
		return err
	}
	resp, err := st.FulfilLabel(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}
