package device

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// DefaultInputByID is where udev links input devices by their USB id.
const DefaultInputByID = "/dev/input/by-id"

// InputDevice is a Linux input device that may be a keyboard-mode barcode
// scanner.
type InputDevice struct {
	Path string `json:"path"` // /dev/input/by-id/usb-...-event-kbd: the path to configure (stable across replugs)
	Node string `json:"node"` // the /dev/input/eventN it points to now
	Name string `json:"name"` // the name the device reports (sysfs)
	// Likely: the name says scanner or barcode, or names a scanner maker.
	// Any keyboard can be a scanner; this only sorts the list.
	Likely bool `json:"likely_scanner"`
}

// scannerNameHints are words in the names scanners report (a maker's
// name, or what they are).
const scannerNameHints = "scan,barcode,bar code,honeywell,metrologic,hand held,handheld,symbol,zebra,datalogic,newland,netum,opticon,code corp,inateck,eyoyo,tera,zebex,unitech,cino,sunmi,mindeo"

// DiscoverInputs lists the keyboard interfaces under byID (udev's
// *-event-kbd links; default /dev/input/by-id) with the names sysfs (default
// /sys) gives their eventN nodes, likely scanners first. A machine without
// any gives an empty list.
func DiscoverInputs(byID, sysfs string) ([]InputDevice, error) {
	if byID == "" {
		byID = DefaultInputByID
	}
	if sysfs == "" {
		sysfs = DefaultSysfs
	}
	entries, err := os.ReadDir(byID)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list input devices: %w", err)
	}
	var out []InputDevice
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), "-event-kbd") {
			continue
		}
		d := InputDevice{Path: filepath.Join(byID, e.Name())}
		if target, err := os.Readlink(d.Path); err == nil {
			if !filepath.IsAbs(target) {
				target = filepath.Join(byID, target)
			}
			d.Node = filepath.Clean(target)
			name, _ := os.ReadFile(filepath.Join(sysfs, "class", "input", filepath.Base(d.Node), "device", "name"))
			d.Name = strings.TrimSpace(string(name))
		}
		low := strings.ToLower(d.Name + " " + e.Name())
		for _, h := range strings.Split(scannerNameHints, ",") {
			if strings.Contains(low, h) {
				d.Likely = true
				break
			}
		}
		out = append(out, d)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Likely && !out[j].Likely })
	return out, nil
}
