package firmware

import "errors"

// The refusals and failures of an update. Every refusal leaves the disk as
// it was.
var (
	ErrSignature   = errors.New("firmware: signature does not verify with the trusted key")
	ErrManifest    = errors.New("firmware: invalid manifest")
	ErrDigest      = errors.New("firmware: binary does not match the manifest (size or sha256)")
	ErrBelowMin    = errors.New("firmware: version below the minimum allowed")
	ErrTarget      = errors.New("firmware: built for another platform")
	ErrSameVersion = errors.New("firmware: this version is already installed")
	ErrNoSpace     = errors.New("firmware: not enough free space to stage the update")
	ErrPending     = errors.New("firmware: an update is still waiting to report healthy")
	ErrNoPrevious  = errors.New("firmware: no previous version to roll back to")
)
