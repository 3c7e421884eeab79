package uplink

import (
	"encoding/json"
	"slices"
)

// discovery is the Home Assistant device discovery message
// (homeassistant/device/<id>/config, retained), all available while status
// is "online". It advertises only what the bench answers: the printer and
// queue sensors (the state topic), the weight sensor when weights are
// published, and the test-print and tare buttons when the Commands say
// they answer those verbs (CommandVerbs).
func (m *MQTT) discovery() ([]byte, error) {
	id := m.cfg.DeviceID
	base := m.t.base
	uid := func(s string) string { return "packbench_" + id + "_" + s }
	press := `{"id":"homeassistant"}`
	cmps := map[string]any{
		"printer": map[string]any{
			"p": "sensor", "unique_id": uid("printer"), "name": "Printer",
			"state_topic":    m.t.state,
			"value_template": "{{ value_json.printers[0].state if value_json.printers else 'none' }}",
		},
		"queue_depth": map[string]any{
			"p": "sensor", "unique_id": uid("queue_depth"), "name": "Queue depth",
			"state_topic": m.t.state, "state_class": "measurement", "unit_of_measurement": "jobs",
			"value_template": "{{ value_json.queue.depth }}",
		},
	}
	if m.deps.Weights != nil {
		cmps["weight"] = map[string]any{
			"p": "sensor", "unique_id": uid("weight"), "name": "Weight",
			"state_topic": m.t.weight, "device_class": "weight", "unit_of_measurement": "g",
			"state_class":    "measurement",
			"value_template": "{{ (value_json.milligrams / 1000) | round(1) }}",
		}
	}
	var verbs []string
	if cv, ok := m.deps.Commands.(CommandVerbs); ok {
		verbs = cv.Verbs()
	}
	for _, b := range []struct{ key, name, verb string }{
		{"test_print", "Test print", VerbTestPrint},
		{"tare", "Tare", VerbTare},
	} {
		if slices.Contains(verbs, b.verb) {
			cmps[b.key] = map[string]any{
				"p": "button", "unique_id": uid(b.key), "name": b.name,
				"command_topic": base + "/cmd/" + b.verb, "payload_press": press,
			}
		}
	}
	if slices.Contains(verbs, VerbFirmwareUpdate) {
		// Read-only: an install needs a release URL and its signature
		// (cmd/firmware.update), which Home Assistant's install button
		// cannot give. The state's firmware part drives it.
		cmps["firmware"] = map[string]any{
			"p": "update", "unique_id": uid("firmware"), "name": "Firmware", "device_class": "firmware",
			"state_topic":    m.t.state,
			"value_template": firmwareTemplate,
		}
	}
	msg := map[string]any{
		"dev": map[string]any{
			"ids":  []string{"packbench_" + id},
			"name": "packbench " + id,
			"mf":   "packbench",
			"mdl":  "packing bench",
			"sw":   m.o.Version,
		},
		"o":                     map[string]any{"name": "packbench", "sw": m.o.Version},
		"availability_topic":    m.t.status,
		"payload_available":     "online",
		"payload_not_available": "offline",
		"qos":                   1,
		"cmps":                  cmps,
	}
	return json.Marshal(msg)
}

// firmwareTemplate renders the state's firmware part as Home Assistant's
// update JSON: installed and latest version (a version offered or pending,
// else the installed one), and the progress of a running update.
const firmwareTemplate = `{{ {"installed_version": value_json.firmware.installed,` +
	` "latest_version": value_json.firmware.latest or value_json.firmware.pending or value_json.firmware.installed,` +
	` "in_progress": value_json.firmware.update is defined,` +
	` "update_percentage": ((100 * value_json.firmware.update.done / value_json.firmware.update.total) | round(0))` +
	` if value_json.firmware.update is defined and value_json.firmware.update.total else none} | tojson }}`
