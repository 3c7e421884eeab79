// Package firmware performs signed self-updates: verify a minisign-signed
// manifest and binary, stage it, switch atomically, commit only after the new
// binary reports healthy, and roll back otherwise.
package firmware
