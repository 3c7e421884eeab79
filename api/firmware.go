package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/packbench/packbench/firmware"
)

// Firmware is the daemon's self-update. A successful apply leaves the new
// version pending; the daemon restarts into it after the answer.
type Firmware interface {
	Status() (firmware.Status, error)
	ApplyURL(ctx context.Context, url string, sig []byte) (firmware.Result, error)
	ApplyStream(ctx context.Context, manifest, manifestSig, binarySig []byte, binary io.Reader) (firmware.Result, error)
}

const tagFirmware = "firmware"

// FirmwareStatus is GET /api/v1/firmware.
type FirmwareStatus struct {
	Running string `json:"running"` // the version answering
	firmware.Status
}

// FirmwareURLRequest is POST /api/v1/firmware as JSON: the release's
// manifest URL (https; the binary is the manifest's url, relative to it)
// and optionally the manifest's minisign signature (default: fetched from
// url + ".minisig").
type FirmwareURLRequest struct {
	URL       string `json:"url"`
	Signature string `json:"signature,omitempty"`
}

// FirmwareApplied is the answer to an accepted update.
type FirmwareApplied struct {
	Version    string `json:"version"`
	Previous   string `json:"previous"` // "" means the packaged binary
	Restarting bool   `json:"restarting"`
}

// maxFirmwareBody bounds an upload; the binary part is bounded again by
// its signed manifest's size.
const maxFirmwareBody = 512 << 20

// patternFirmwarePost is the upload's mux pattern, which alone takes a
// body over Options.MaxBody.
const patternFirmwarePost = "POST " + prefix + "/firmware"

func (s *Server) firmwareRoutes() []route {
	refused := []int{http.StatusConflict, http.StatusUnprocessableEntity, http.StatusInsufficientStorage, http.StatusServiceUnavailable}
	return []route{
		{"GET", prefix + "/firmware", authKey, s.getFirmware, opDoc{
			summary: "Firmware: the running, current, previous and pending versions, the version floor and the last update's outcome",
			tag:     tagFirmware, resp: FirmwareStatus{}, errors: []int{http.StatusServiceUnavailable}}},
		{"POST", prefix + "/firmware", authKey, s.postFirmware, opDoc{ // patternFirmwarePost
			summary: "Apply a signed update: JSON {url, signature?} to download it over HTTPS, or multipart/form-data with the parts " +
				"manifest, manifest_signature, binary_signature and then binary. Verified before anything is written; " +
				"202 when switched: the bench restarts into it and goes back by itself unless it reports healthy in time. " +
				"422 firmware_refused: signature, digest, platform or min_version; 409: an update is still pending",
			tag: tagFirmware, body: FirmwareURLRequest{}, status: http.StatusAccepted, resp: FirmwareApplied{}, errors: refused}},
	}
}

func (s *Server) getFirmware(w http.ResponseWriter, r *http.Request) error {
	if s.deps.Firmware == nil {
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "firmware updates are not available on this bench")
	}
	st, err := s.deps.Firmware.Status()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, FirmwareStatus{Running: s.deps.Version, Status: st})
	return nil
}

func (s *Server) postFirmware(w http.ResponseWriter, r *http.Request) error {
	if s.deps.Firmware == nil {
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "firmware updates are not available on this bench")
	}
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var res firmware.Result
	var err error
	if mt == "multipart/form-data" {
		res, err = s.firmwareUpload(r, params["boundary"])
	} else {
		var req FirmwareURLRequest
		if err := s.decodeJSON(w, r, &req, false); err != nil {
			return err
		}
		if u, err := url.Parse(req.URL); err != nil || u.Scheme != "https" || u.Host == "" {
			return fieldError("url", "want the release manifest's https URL")
		}
		var sig []byte
		if req.Signature != "" {
			sig = []byte(req.Signature)
		}
		res, err = s.deps.Firmware.ApplyURL(r.Context(), req.URL, sig)
	}
	if err != nil {
		return firmwareError(err)
	}
	writeJSON(w, http.StatusAccepted, FirmwareApplied{Version: res.Version, Previous: res.Previous, Restarting: true})
	return nil
}

// firmwareUpload reads the small parts, then streams the binary part
// into the store, which checks the manifest before it writes anything.
func (s *Server) firmwareUpload(r *http.Request, boundary string) (firmware.Result, error) {
	if boundary == "" {
		return firmware.Result{}, errorf(http.StatusBadRequest, CodeInvalidField, "multipart/form-data without a boundary")
	}
	mr, err := r.MultipartReader() // the body is capped at maxFirmwareBody (limitBody)
	if err != nil {
		return firmware.Result{}, errorf(http.StatusBadRequest, CodeInvalidField, "multipart body: %v", err)
	}
	small := map[string][]byte{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return firmware.Result{}, fieldError("binary", "required, as the last part")
		}
		if err != nil {
			return firmware.Result{}, errorf(http.StatusBadRequest, CodeInvalidField, "multipart body: %v", err)
		}
		name := p.FormName()
		switch name {
		case "manifest", "manifest_signature", "binary_signature":
			b, err := io.ReadAll(io.LimitReader(p, 64<<10+1))
			if err != nil {
				return firmware.Result{}, errorf(http.StatusBadRequest, CodeInvalidField, "part %s: %v", name, err)
			}
			if len(b) > 64<<10 {
				return firmware.Result{}, fieldError(name, "longer than 64 KiB")
			}
			small[name] = b
		case "binary":
			for _, need := range []string{"manifest", "manifest_signature", "binary_signature"} {
				if small[need] == nil {
					return firmware.Result{}, fieldError(need, "required, before the binary part")
				}
			}
			return s.deps.Firmware.ApplyStream(r.Context(), small["manifest"], small["manifest_signature"], small["binary_signature"], p)
		default:
			return firmware.Result{}, fieldError(name, "unknown part: want manifest, manifest_signature, binary_signature, binary")
		}
	}
}

func firmwareError(err error) error {
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae), errors.As(err, &mbe):
		return err
	case errors.Is(err, firmware.ErrPending):
		return errorf(http.StatusConflict, CodeConflict, "%v", err)
	case errors.Is(err, firmware.ErrNoSpace):
		return errorf(http.StatusInsufficientStorage, CodeDiskFull, "%v", err)
	case errors.Is(err, firmware.ErrDownload):
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "%v", err)
	case errors.Is(err, firmware.ErrSignature), errors.Is(err, firmware.ErrDigest), errors.Is(err, firmware.ErrManifest),
		errors.Is(err, firmware.ErrBelowMin), errors.Is(err, firmware.ErrTarget), errors.Is(err, firmware.ErrSameVersion):
		return errorf(http.StatusUnprocessableEntity, CodeFirmwareRefused, "%v", err)
	}
	return fmt.Errorf("firmware: %w", err)
}
