// Package uplinktest holds a harness that runs Debian's real mosquitto
// broker on a loopback port, with persistence in a temp dir, and makes test
// certificates (a CA, and a certificate it signs for 127.0.0.1) as PEM
// files, and records what the cloud's side of a test receives (Recorder),
// for the tests of package uplink and of packbenchd's MQTT link. It does not
// import package uplink, so uplink's own tests can use it.
package uplinktest
