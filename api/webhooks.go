package api

import (
	"net/http"
	"net/url"

	"github.com/packbench/packbench/station"
)

const tagWebhooks = "webhooks"

// errNoWebhooks answers the webhook routes when the daemon wired no store.
var errNoWebhooks = errorf(http.StatusServiceUnavailable, CodeUnavailable, "webhooks are not available")

// webhookRoutes are packbench's own /api/v1/webhooks and Tracktor's
// webhooks.json (tracktor_webhooks.go).
func (s *Server) webhookRoutes() []route {
	nf := []int{http.StatusNotFound, http.StatusServiceUnavailable}
	return append([]route{
		{"POST", prefix + "/webhooks", authKey, s.createWebhook, opDoc{
			summary: "Subscribe a URL to outbox events (topics: event types such as order.created, tracking.updated, job.state, or *). " +
				"The answer carries the signing secret, the only time it is shown; deliveries are signed with it (X-Packbench-Hmac-Sha256, docs/integrations/tracktor-webhooks.md)",
			tag: tagWebhooks, body: webhookRequest{}, status: http.StatusCreated, resp: station.Webhook{},
			errors: []int{http.StatusConflict, http.StatusServiceUnavailable}, idempotent: true}},
		{"GET", prefix + "/webhooks", authKey, s.listWebhooks, opDoc{
			summary: "Every webhook subscription (packbench and Tracktor), oldest first, without secrets", tag: tagWebhooks,
			resp: webhookList{}, errors: []int{http.StatusServiceUnavailable}}},
		{"GET", prefix + "/webhooks/{id}", authKey, s.getWebhook, opDoc{
			summary: "One webhook subscription, without its secret", tag: tagWebhooks, resp: station.Webhook{}, errors: nf}},
		{"DELETE", prefix + "/webhooks/{id}", authKey, s.deleteWebhook, opDoc{
			summary: "Unsubscribe: deliveries stop and its outbox consumer is removed", tag: tagWebhooks, resp: okBody{}, errors: nf}},
		{"GET", prefix + "/webhooks/{id}/deliveries", authKey, s.webhookDeliveries, opDoc{
			summary: "The subscription's delivery log: the last attempts, oldest first (time, event id, status code or error, duration, next retry)",
			tag:     tagWebhooks, resp: deliveryList{}, errors: nf}},
	}, s.tracktorWebhookRoutes()...)
}

// webhookRequest is the body of POST /api/v1/webhooks.
type webhookRequest struct {
	URL    string   `json:"url"`
	Topics []string `json:"topics"`
}

type webhookList struct {
	Webhooks []station.Webhook `json:"webhooks"`
}

type deliveryList struct {
	Deliveries []station.Delivery `json:"deliveries"`
}

func (s *Server) webhooks() (*station.WebhookStore, error) {
	if s.deps.Webhooks == nil {
		return nil, errNoWebhooks
	}
	return s.deps.Webhooks, nil
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	st, err := s.webhooks()
	if err != nil {
		return err
	}
	var req webhookRequest
	if err := s.decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	wh, err := st.CreateWebhook(r.Context(), station.WebhookRequest{Kind: station.WebhookPackbench, URL: req.URL, Topics: req.Topics})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store") // the secret
	w.Header().Set("Location", prefix+"/webhooks/"+url.PathEscape(wh.ID))
	writeJSON(w, http.StatusCreated, wh)
	return nil
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	st, err := s.webhooks()
	if err != nil {
		return err
	}
	all, err := st.Webhooks(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, webhookList{all})
	return nil
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) error {
	st, err := s.webhooks()
	if err != nil {
		return err
	}
	wh, err := st.Webhook(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wh)
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	st, err := s.webhooks()
	if err != nil {
		return err
	}
	if err := st.DeleteWebhook(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, okBody{true})
	return nil
}

func (s *Server) webhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	st, err := s.webhooks()
	if err != nil {
		return err
	}
	l, err := st.Deliveries(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, deliveryList{l})
	return nil
}
