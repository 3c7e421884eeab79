package uplink

import "encoding/json"

// discovery is the Home Assistant device discovery message
// (homeassistant/device/<id>/config, retained): the weight sensor, the
// printer status, the queue depth, test-print and tare buttons and the
// firmware update entity, all available while status is "online".
func (m *MQTT) discovery() ([]byte, error) {
	id := m.cfg.DeviceID
	base := m.t.base
	uid := func(s string) string { return "packbench_" + id + "_" + s }
	press := `{"id":"homeassistant"}`
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
		"cmps": map[string]any{
			"weight": map[string]any{
				"p": "sensor", "unique_id": uid("weight"), "name": "Weight",
				"state_topic": m.t.weight, "device_class": "weight", "unit_of_measurement": "g",
				"state_class":    "measurement",
				"value_template": "{{ (value_json.milligrams / 1000) | round(1) }}",
			},
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
			"test_print": map[string]any{
				"p": "button", "unique_id": uid("test_print"), "name": "Test print",
				"command_topic": base + "/cmd/" + VerbTestPrint, "payload_press": press,
			},
			"tare": map[string]any{
				"p": "button", "unique_id": uid("tare"), "name": "Tare",
				"command_topic": base + "/cmd/" + VerbTare, "payload_press": press,
			},
			"firmware": map[string]any{
				"p": "update", "unique_id": uid("firmware"), "name": "Firmware",
				"state_topic":     m.t.state,
				"value_template":  "{{ {'installed_version': value_json.firmware.installed, 'latest_version': (value_json.firmware.latest or value_json.firmware.installed)} | tojson }}",
				"command_topic":   base + "/cmd/" + VerbFirmwareUpdate,
				"payload_install": press,
			},
		},
	}
	return json.Marshal(msg)
}
