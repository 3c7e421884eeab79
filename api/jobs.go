package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/packbench/packbench/queue"
)

// Paging defaults for list endpoints.
const (
	defaultLimit = 50
	maxLimit     = 500
)

// jobList is the answer of GET /api/v1/jobs.
type jobList struct {
	Jobs []queue.Job `json:"jobs"`
	// Next is the after= value of the next page; absent on the last page.
	Next string `json:"next,omitempty"`
}

// reasonBody is the optional body of the job actions.
type reasonBody struct {
	Reason string `json:"reason"`
}

// parseLimit reads ?limit= (1..maxLimit, default defaultLimit).
func parseLimit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		return 0, fieldError("limit", "want an integer from 1 to %d, got %q", maxLimit, v)
	}
	return n, nil
}

func pathJobID(r *http.Request) (queue.JobID, error) {
	id, err := queue.ParseJobID(r.PathValue("id"))
	if err != nil {
		return 0, errorf(http.StatusNotFound, CodeNotFound, "job %q: not a job id (want j00000042)", r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lo := queue.ListOptions{Printer: q.Get("printer")}
	if v := q.Get("state"); v != "" {
		st, err := queue.ParseState(v)
		if err != nil {
			return fieldError("state", "unknown job state %q (want one of %v)", v, queue.States())
		}
		lo.State = st
	}
	if v := q.Get("after"); v != "" {
		id, err := queue.ParseJobID(v)
		if err != nil {
			return fieldError("after", "want a job id like j00000042, got %q", v)
		}
		lo.After = id
	}
	limit, err := parseLimit(r)
	if err != nil {
		return err
	}
	lo.Limit = limit + 1 // one more tells whether a next page exists
	jobs, err := s.deps.Queue.List(r.Context(), lo)
	if err != nil {
		return err
	}
	out := jobList{Jobs: jobs}
	if len(jobs) > limit {
		out.Jobs = jobs[:limit]
		out.Next = jobs[limit-1].ID.String()
	}
	if kept, cut := cutToBudget(out.Jobs); cut {
		out.Jobs, out.Next = kept, kept[len(kept)-1].ID.String()
	}
	if out.Jobs == nil {
		out.Jobs = []queue.Job{}
	}
	writeList(w, "jobs", out.Jobs, out.Next, -1)
	return nil
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) error {
	j, err := s.callerJob(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

// jobAction is cancel, retry and mark-printed: the queue's operator moves.
func (s *Server) jobAction(op func(*queue.DB, context.Context, queue.JobID, string) (queue.Job, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathJobID(r)
		if err != nil {
			return err
		}
		var body reasonBody
		if err := s.decodeJSON(w, r, &body, true); err != nil {
			return err
		}
		if body.Reason == "" {
			body.Reason = "api"
		}
		j, err := op(s.deps.Queue, r.Context(), id, body.Reason)
		if err != nil {
			var te *queue.TransitionError
			if errors.As(err, &te) {
				msg := "job " + te.ID.String() + " is " + string(te.From) + ": cannot go to " + string(te.To)
				if te.Hint != "" {
					msg += " (" + te.Hint + ")"
				}
				return errorf(http.StatusConflict, CodeConflict, "%s", msg)
			}
			return err
		}
		writeJSON(w, http.StatusOK, j)
		return nil
	}
}
