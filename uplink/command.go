package uplink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/packbench/packbench/internal/strictjson"
)

// Request is a cmd/<verb> payload: {"id":"<caller's id>","args":{…}}.
type Request struct {
	ID   string          `json:"id"`
	Args json.RawMessage `json:"args,omitempty"`
}

// Response is the res/<verb> payload; ID echoes the request's.
type Response struct {
	ID     string `json:"id"`
	OK     bool   `json:"ok"`
	Result any    `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`
}

// commandWorker answers commands one at a time. Commands are acknowledged
// on receipt: a reprint must not run twice because the bench restarted
// mid-command, so callers retry on a missing response instead.
func (m *MQTT) commandWorker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case msg := <-m.commands:
			msg.Ack()
			m.handleCommand(ctx, msg)
		}
	}
}

func (m *MQTT) handleCommand(ctx context.Context, msg paho.Message) {
	verb := strings.TrimPrefix(msg.Topic(), m.t.cmd)
	resp := m.answer(ctx, verb, msg.Payload())
	if len(resp.ID) > MaxPushIDLen {
		// The id is echoed and logged: bounded like a push id.
		resp = Response{Error: fmt.Sprintf("bad request: id: %d bytes: at most %d", len(resp.ID), MaxPushIDLen)}
	}
	payload, err := json.Marshal(resp)
	if err != nil {
		payload, _ = json.Marshal(Response{ID: resp.ID, Error: "encode result: " + err.Error()})
	}
	cp := m.client.Load()
	if cp == nil {
		m.log.Warn("mqtt: command answered while disconnected: response lost", "verb", verb, "id", resp.ID)
		return
	}
	if err := waitToken(ctx, m.o.Clock, (*cp).Publish(m.t.res+verb, 1, false, payload), m.o.AckTimeout, nil); err != nil {
		m.log.Warn("mqtt: publish response", "verb", verb, "id", resp.ID, "err", err)
	}
}

func (m *MQTT) answer(ctx context.Context, verb string, payload []byte) Response {
	var req Request
	if size, ok := oversize(m.marker, payload); ok {
		return Response{Error: fmt.Sprintf("command refused: %d bytes, limit %d", size, m.o.MaxMessage)}
	}
	if len(bytes.TrimSpace(payload)) > 0 {
		if err := strictjson.Decode(payload, &req, nil); err != nil {
			var idOnly struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(payload, &idOnly)
			pe := jsonPushError(err)
			return Response{ID: idOnly.ID, Error: "bad request: " + pe.Field + ": " + pe.Rule}
		}
	}
	if verb == VerbPing {
		return Response{ID: req.ID, OK: true, Result: map[string]any{"pong": true, "device_id": m.cfg.DeviceID, "time": m.o.Clock.Now().UTC()}}
	}
	if m.deps.Commands == nil {
		return Response{ID: req.ID, Error: fmt.Sprintf("%v: %q", ErrUnknownVerb, verb)}
	}
	res, err := m.deps.Commands.Do(ctx, verb, req.Args)
	if err != nil {
		if errors.Is(err, ErrUnknownVerb) {
			return Response{ID: req.ID, Error: fmt.Sprintf("%v: %q", ErrUnknownVerb, verb)}
		}
		return Response{ID: req.ID, Error: err.Error()}
	}
	return Response{ID: req.ID, OK: true, Result: res}
}
