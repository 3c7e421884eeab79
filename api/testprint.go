package api

import (
	"net/http"

	"github.com/packbench/packbench/queue"
)

// testPrint queues a small test label for one printer (station.TestPrint):
// it proves the link, the media and the head without an order.
func (s *Server) testPrint(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	name, err := pathID(r, "name")
	if err != nil {
		return err
	}
	known := false
	for _, p := range s.printers() {
		if p.Name == name {
			known = true
			break
		}
	}
	if !known {
		return errorf(http.StatusNotFound, CodeNotFound, "no printer named %q", name)
	}
	job, err := st.TestPrint(r.Context(), name, queue.SourceHTTP, "version "+s.deps.Version)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, job)
	return nil
}
