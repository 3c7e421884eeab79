package uplink

// topics are the bench's topic names, all under <prefix>/<device id>/.
type topics struct {
	base       string // packbench/<id>
	status     string // retained online/offline, the will
	state      string // retained JSON
	events     string // QoS 1 from the outbox
	weight     string // QoS 0, on change, rate-limited
	push       string // QoS 1 in
	cmd        string // cmd/ prefix: cmd/<verb> in
	res        string // res/ prefix: res/<verb> out
	pool       string // packbench/pool/<site>/jobs (empty without a site)
	poolShared string // $share/<group>/packbench/pool/<site>/jobs
	discovery  string // homeassistant/device/<id>/config
}

func newTopics(c Config) topics {
	c = c.withDefaults()
	base := c.TopicPrefix + "/" + c.DeviceID
	t := topics{
		base:      base,
		status:    base + "/status",
		state:     base + "/state",
		events:    base + "/events",
		weight:    base + "/weight",
		push:      base + "/jobs/push",
		cmd:       base + "/cmd/",
		res:       base + "/res/",
		discovery: c.HAPrefix + "/device/" + c.DeviceID + "/config",
	}
	if c.PoolSite != "" {
		t.pool = PoolTopic(c.TopicPrefix, c.PoolSite)
		t.poolShared = "$share/" + c.PoolGroup + "/" + t.pool
	}
	return t
}

// BenchTopic is the topic a bench listens on or publishes to: kind is
// "jobs/push", "events", "state", "status", "weight", "cmd/<verb>" or
// "res/<verb>". prefix "" means DefaultTopicPrefix.
func BenchTopic(prefix, deviceID, kind string) string {
	if prefix == "" {
		prefix = DefaultTopicPrefix
	}
	return prefix + "/" + deviceID + "/" + kind
}

// PoolTopic is where jobs for a site's pool are published.
func PoolTopic(prefix, site string) string {
	if prefix == "" {
		prefix = DefaultTopicPrefix
	}
	return prefix + "/pool/" + site + "/jobs"
}
