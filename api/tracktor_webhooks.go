package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/packbench/packbench/station"
)

// tracktorHooksBase is Tracktor's admin API root on the bench (seed 004);
// {uuid} is the bench's device_id.
const tracktorHooksBase = "/apps/tracktor/api/admin/{uuid}"

const tagTracktorWebhooks = "tracktor"

func (s *Server) tracktorWebhookRoutes() []route {
	nf := []int{http.StatusNotFound, http.StatusServiceUnavailable}
	return []route{
		{"GET", tracktorHooksBase + "/webhooks.json", authKey, s.listTracktorWebhooks, opDoc{
			summary: "Tracktor: the webhooks subscribed through Tracktor's API ({uuid}: the bench's device_id, any other: 404)",
			tag:     tagTracktorWebhooks, resp: tracktorHookList{}, errors: nf}},
		{"POST", tracktorHooksBase + "/webhooks.json", authKey, s.createTracktorWebhook, opDoc{
			summary: "Tracktor: subscribe an address to a topic (order/all, order/pre_transit, order/in_transit, order/out_for_delivery, order/delivered, " +
				"fulfillment/all, fulfillment/pre_transit, fulfillment/in_transit, fulfillment/out_for_delivery, fulfillment/delivered). " +
				`Body {"webhook":{"topic","address"}} or the same members flat; the answer's secret signs the deliveries and is shown only here`,
			tag: tagTracktorWebhooks, body: tracktorHookRequest{}, resp: tracktorHookAnswer{},
			errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable}, idempotent: true}},
		{"DELETE", tracktorHooksBase + "/webhooks/{file}", authKey, s.deleteTracktorWebhook, opDoc{
			summary: "Tracktor: delete a webhook; {file} is {webhook_id}.json", tag: tagTracktorWebhooks,
			resp: struct{}{}, errors: nf}},
	}
}

// tracktorHook is a webhook as Tracktor (Shopify-style) shows it.
type tracktorHook struct {
	ID        int64     `json:"id"`
	Topic     string    `json:"topic"`
	Address   string    `json:"address"`
	Format    string    `json:"format"`
	CreatedAt time.Time `json:"created_at"`
	// Secret signs the deliveries; only in the create's answer.
	Secret string `json:"secret,omitempty"`
}

type tracktorHookList struct {
	Webhooks []tracktorHook `json:"webhooks"`
}

type tracktorHookAnswer struct {
	Webhook tracktorHook `json:"webhook"`
}

// tracktorHookFields are the members of a create, wrapped in "webhook"
// (Shopify's shape) or flat.
type tracktorHookFields struct {
	Topic   *string `json:"topic,omitempty"`
	Address *string `json:"address,omitempty"`
	Format  *string `json:"format,omitempty"` // "json", the only one
}

type tracktorHookRequest struct {
	Webhook *tracktorHookFields `json:"webhook,omitempty"`
	tracktorHookFields
}

func toTracktorHook(w station.Webhook) tracktorHook {
	id, _ := strconv.ParseInt(w.ID, 10, 64)
	h := tracktorHook{ID: id, Address: w.URL, Format: "json", CreatedAt: w.CreatedAt, Secret: w.Secret}
	if len(w.Topics) > 0 {
		h.Topic = w.Topics[0]
	}
	return h
}

// tracktorHooks checks {uuid} and the store.
func (s *Server) tracktorHooks(r *http.Request) (*station.WebhookStore, error) {
	if s.deps.DeviceID == "" || r.PathValue("uuid") != s.deps.DeviceID {
		return nil, errorf(http.StatusNotFound, CodeNotFound, "no shop with this uuid: use the bench's device_id (GET /api/v1/health)")
	}
	return s.webhooks()
}

func (s *Server) listTracktorWebhooks(w http.ResponseWriter, r *http.Request) error {
	st, err := s.tracktorHooks(r)
	if err != nil {
		return err
	}
	all, err := st.Webhooks(r.Context())
	if err != nil {
		return err
	}
	out := tracktorHookList{Webhooks: []tracktorHook{}}
	for _, wh := range all {
		if wh.Kind == station.WebhookTracktor {
			out.Webhooks = append(out.Webhooks, toTracktorHook(wh))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createTracktorWebhook(w http.ResponseWriter, r *http.Request) error {
	st, err := s.tracktorHooks(r)
	if err != nil {
		return err
	}
	var req tracktorHookRequest
	if err := s.decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	f, path := req.tracktorHookFields, ""
	if req.Webhook != nil {
		if f.Topic != nil || f.Address != nil || f.Format != nil {
			return fieldError("webhook", "give topic and address either inside webhook or flat, not both")
		}
		f, path = *req.Webhook, "webhook."
	}
	if f.Topic == nil {
		return fieldError(path+"topic", "required")
	}
	if f.Address == nil {
		return fieldError(path+"address", "required")
	}
	if f.Format != nil && *f.Format != "json" {
		return fieldError(path+"format", "want json, the only format")
	}
	wh, err := st.CreateWebhook(r.Context(), station.WebhookRequest{
		Kind: station.WebhookTracktor, URL: *f.Address, Topics: []string{*f.Topic},
		TopicField: path + "topic", URLField: path + "address"})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store") // the secret
	writeJSON(w, http.StatusOK, tracktorHookAnswer{toTracktorHook(wh)})
	return nil
}

func (s *Server) deleteTracktorWebhook(w http.ResponseWriter, r *http.Request) error {
	st, err := s.tracktorHooks(r)
	if err != nil {
		return err
	}
	id, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	if !ok {
		return errorf(http.StatusNotFound, CodeNotFound, "want webhooks/{webhook_id}.json")
	}
	wh, err := st.Webhook(r.Context(), id)
	if err != nil {
		return err
	}
	if wh.Kind != station.WebhookTracktor {
		return errorf(http.StatusNotFound, CodeNotFound, "no Tracktor webhook %s", id)
	}
	if err := st.DeleteWebhook(r.Context(), wh.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}
