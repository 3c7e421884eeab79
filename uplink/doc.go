// Package uplink carries the bench's links out: MQTT cloud sync, mDNS
// announce and browse, and webhook delivery from the queue's outbox.
package uplink
