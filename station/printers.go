package station

import "slices"

// KnownPrinter is the one rule for a printer a caller names (an HTTP
// shipment, reprint or test print, an MQTT push): it is flow, the bench's
// own printer, or one of printers, the configured ones. Anything else
// ("nope", "../../x") would make a job that waits forever for a worker that
// does not exist. The error is a *FieldError naming "printer".
func KnownPrinter(printers []string, flow, name string) error {
	if name == flow || slices.Contains(printers, name) {
		return nil
	}
	names := slices.Clone(printers)
	if flow != "" && !slices.Contains(names, flow) {
		names = append([]string{flow}, names...)
	}
	return fieldErr("printer", "%q: no such printer on this bench (have %q)", name, names)
}

// knownPrinter is KnownPrinter for this station's printers.
func (s *Station) knownPrinter(name string) error { return KnownPrinter(s.printers, s.printer, name) }

// Printers are the configured printer names (the flow's printer when none
// were given).
func (s *Station) Printers() []string {
	if len(s.printers) == 0 {
		return []string{s.printer}
	}
	return slices.Clone(s.printers)
}
