package firmware

import "errors"

// The refusals and failures of an update; test with errors.Is. Each
// refusal (all but the last two) leaves the disk as it was.
var (
	ErrSignature   = errors.New("firmware: signature does not verify with the trusted key")
	ErrManifest    = errors.New("firmware: invalid manifest")
	ErrDigest      = errors.New("firmware: binary does not match the manifest (size or sha256)")
	ErrBelowMin    = errors.New("firmware: version below the minimum allowed")
	ErrTarget      = errors.New("firmware: built for another platform")
	ErrSameVersion = errors.New("firmware: this version is already installed")
	ErrNoSpace     = errors.New("firmware: not enough free space to stage the update")
	ErrPending     = errors.New("firmware: an update is still waiting to report healthy")
	// ErrDownload: a download did not complete; the part received is kept
	// in staging and the next attempt resumes it.
	ErrDownload = errors.New("firmware: download incomplete")
	// ErrRolledBack is returned by Gate when the window closed: the caller
	// exits so the bench restarts into the previous version.
	ErrRolledBack = errors.New("firmware: rolled back")
)
