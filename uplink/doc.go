// Package uplink carries the bench's links out: MQTT cloud sync, mDNS
// announce and browse, and webhook delivery from the queue's outbox.
//
// # MQTT
//
// MQTT is the link to the cloud and to the rest of a fleet: New builds it
// from the [mqtt] config section (Config), the queue and the small
// interfaces it consumes (Intake, Commands, StateSource, a channel of
// scale readings); Run keeps it up until its context ends. A bench's Intake
// is StationIntake, which turns pushes into station and queue calls; its
// Commands is BenchCommands (reprint, cancel, retry, tare, zero,
// test-print, config-get). The client id is
// the device id; the session is persistent (clean session off), so the
// broker keeps subscriptions and unacknowledged pushes while the bench is
// away. Topics, all under <prefix>/<device id>/ (prefix "packbench"):
//
//	status      retained "online"/"offline"; "offline" is the will (QoS 1)
//	state       retained JSON: printers, scale, flow, firmware, queue depth
//	events      QoS 1, the queue's outbox, one queue.Event per message
//	weight      QoS 0, a scale.Reading, only on change, rate-limited
//	jobs/push   QoS 1 in: a PushJob, acknowledged after the bbolt commit
//	cmd/<verb>  QoS 1 in: {"id","args"} → res/<verb>: {"id","ok","result"|"error"}
//
// and the fleet pool $share/<group>/<prefix>/pool/<site>/jobs, where the
// broker hands each pooled job to one bench of the group.
//
// Pushes are acknowledged only after Intake.Push returned, which commits
// first: a bench that dies in between gets the push again and the queue's
// idempotency key ("mqtt:" + id) makes it one job. An invalid push is
// acknowledged and answered with a push.rejected event naming the field
// and the rule; a push the intake cannot take now stays unacknowledged and
// the link reconnects so the broker redelivers it. Pushes are taken in
// the order the broker delivers them (one publisher's pushes: in publish
// order), so their jobs and events keep that order: paho calls the
// handler in order on its one incoming goroutine, and the handler never
// blocks, handing messages to one worker through a queue bounded by what
// the broker may have in flight. A pushed order whose id is taken by an
// order with other content is rejected naming the field.
//
// # Bounded input
//
// No message from the broker is read into memory when its payload is over
// Options.MaxMessage (DefaultMaxMessage, 4 MiB: a job's payload is at most
// that, so a larger push could never be taken). Paho (MQTT 3.1.1) reads
// every packet whole and has no maximum, so the link dials the broker
// itself (SetCustomOpenConnectionFn) and reads paho's packets through a
// filter that follows the fixed headers (boundedConn, wire.go). An
// oversize PUBLISH reaches paho as the same PUBLISH (flags, QoS, topic
// and packet id kept) whose payload is replaced by a marker with the real
// size, while the real payload is read off the socket in 32 KiB pieces
// and dropped. Paho acknowledges it like any message, and the link
// refuses it with a push.rejected event ("push refused: 157286400 bytes,
// limit 4194304"; a command gets an error response). Dropping the
// connection instead would leave a QoS 1 push at the broker, redelivered
// on every reconnect: a loop, and the pushes behind it stuck. The marker
// carries a random nonce of the link, so a publisher cannot forge one.
// Any other packet over 64 KiB (they are a few bytes) drops the
// connection. The broker should refuse such messages first:
// docs/examples/mosquitto.conf sets message_size_limit and
// max_packet_size (uplinktest.BrokerLimits).
//
// Ids and text from a push are bounded at this edge: the id (the
// idempotency key) and printer name by Validate; a rejection event keeps
// an id that broke its rule only as a prefix ("first 32 bytes…(N bytes)")
// and not as the event's key, so it is stored once, and clips the field
// path and the rule; log lines show the same prefixes.
//
// Events leave the outbox in order at QoS 1, each with its id; the
// consumer cursor ("mqtt") advances only over a contiguous prefix whose
// PUBACKs arrived on a live connection, so anything in doubt is published
// again and receivers drop duplicates by id.
//
// Reconnects are managed here, not by paho: each connection is a fresh
// client (runOnce) whose outbox window restarts at the durable cursor, with
// jittered backoff on an injected Clock. Paho's FileStore is not used: the
// bbolt queue is the only durable store.
//
// TLS uses ca_file (or the system roots) and an optional client
// certificate; verification is never turned off, and an untrusted broker
// certificate is reported as ErrUntrusted naming the CA file.
//
// Home Assistant discovery (ha_discovery, off by default) publishes one
// retained device message at homeassistant/device/<id>/config: printer
// status and queue depth, the weight sensor when the link publishes
// weights, and test-print and tare buttons when the Commands answer them
// (CommandVerbs). Nothing is advertised that the bench does not answer.
//
// Status reports whether the link is up and, when it is not, why (the
// daemon's health shows it).
//
// Client is the operator's side: Push and Watch (packbench push and
// packbench watch) and Command (cmd/<verb> → res/<verb>).
//
// # Webhooks
//
// Webhooks (webhooks.go) delivers the outbox to the subscriptions of
// station.WebhookStore: one goroutine per subscription, each draining its
// own outbox consumer ("webhook:<id>") in order, one request at a time,
// woken by the queue's commit notification. A delivery is a POST of the
// event (packbench subscriptions) or of the Tracktor renderer's body,
// with the event id, the topic, a timestamp and two HMAC-SHA256
// signatures (HeaderHMAC over the raw body, HeaderSignature over
// timestamp and body). Only a 2xx moves on; anything else is retried with
// internal/backoff, on the injected Clock, for as long as it takes. The
// consumer cursor lags by at most AckDelay or Batch events and is written
// before each retry wait, so a crash only delivers again, with the same
// event ids. Subscriptions created or deleted while running are followed
// through the store's Changed channel.
//
// # mDNS
//
// Announcer ([mdns], MDNSConfig) registers _packbench._tcp (TXT txtvers,
// id, name, fw, api), _http._tcp and, with the raw ZPL port set,
// _pdl-datastream._tcp with grandcat/zeroconf, on the interfaces
// SelectMDNSIfaces picks, with the host name and addresses chosen here
// (zeroconf would capture them once, #55). It polls the interfaces on an
// injected Clock and registers again when they change; Shutdown of each
// registration sends the goodbyes. Before its first registration it probes
// the instance and host names and takes "Name (2)" or "host-2" when another
// host answers for them. A small responder (MDNSHost) answers what
// zeroconf does not: <host>.local A/AAAA queries, and legacy unicast
// queries from plain DNS clients.
//
// Browse is our own client (zeroconf's reports each instance once and
// never a removal, #65): it queries with doubling gaps up to a minute and
// reports arrivals, changes and departures, by goodbye (TTL 0) or by TTL
// expiry on the injected Clock.
package uplink
