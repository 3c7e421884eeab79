package labelrender

import (
	"fmt"
	"slices"
	"strings"
)

// Policy relaxes CheckZPL. The zero value (and nil) allows only
// label-formatting commands.
type Policy struct {
	// Allow lists commands to accept even though they act on the printer
	// rather than the label, e.g. "^MN" or "~JR". Commands that change the
	// command prefix or delimiter (^CC ~CC ^CT ~CT ^CD ~CD) are refused
	// whatever this says: after them the check could not see the commands.
	Allow []string
	// MaxBytes bounds the document; 0 means 4 MiB.
	MaxBytes int
}

// ZPLError says why CheckZPL refused a document. It matches ErrRefused.
type ZPLError struct {
	Offset  int    // byte offset of the command (or of the problem)
	Command string // e.g. "~JR"; empty for structural problems
	Reason  string
}

func (e *ZPLError) Error() string {
	if e.Command == "" {
		return fmt.Sprintf("zpl refused at byte %d: %s", e.Offset, e.Reason)
	}
	return fmt.Sprintf("zpl refused: %s at byte %d: %s", e.Command, e.Offset, e.Reason)
}

// Is makes every ZPLError match ErrRefused.
func (e *ZPLError) Is(target error) bool { return target == ErrRefused }

// labelCommands are the commands that only describe a label: fields, fonts,
// barcodes, graphics and per-format print settings. ^A (fonts) and ^B
// (barcodes) are families matched by their first letter.
var labelCommands = map[string]bool{
	"^XA": true, "^XZ": true, "^FO": true, "^FT": true, "^FD": true, "^FS": true,
	"^FH": true, "^FB": true, "^FR": true, "^FV": true, "^FN": true, "^FX": true,
	"^FW": true, "^FP": true, "^FC": true, "^FM": true, "^TB": true, "^PA": true,
	"^CF": true, "^CI": true, "^PW": true, "^LL": true, "^LH": true, "^LS": true,
	"^LT": true, "^LR": true, "^PO": true, "^PM": true, "^PQ": true, "^PR": true,
	"^MD": true, "^MM": true, "^GB": true, "^GC": true, "^GD": true, "^GE": true,
	"^GF": true, "^GS": true, "^XG": true, "^IL": true, "^IM": true, "^SN": true,
	"^SF": true, "^PF": true,
}

// refusedReasons explain the device and configuration commands people
// actually send; anything else outside labelCommands gets a generic reason.
var refusedReasons = map[string]string{
	"~JR": "resets the printer (power-on reset)",
	"^JU": "saves or reloads the printer configuration",
	"^JB": "initialises (erases) printer flash memory", "~JB": "initialises (erases) printer memory",
	"^ND": "changes network settings", "^NC": "selects the primary network device",
	"^NS": "changes network settings", "^NB": "changes network settings", "^NN": "changes network settings",
	"^NP": "changes network settings", "^NT": "changes network settings", "^NW": "changes network settings",
	"^WI": "changes wireless settings", "^WA": "changes wireless settings", "^WE": "changes wireless settings",
	"^WL": "changes wireless settings", "^WP": "changes wireless settings", "^WR": "changes wireless settings",
	"^WS": "changes wireless settings", "^WX": "changes wireless settings",
	"~WC": "prints the printer's configuration label", "~WL": "prints the network configuration label",
	"~DY": "downloads an object (font, graphic or file) into printer storage",
	"~DG": "downloads a graphic into printer storage", "~DB": "downloads a bitmap font into printer storage",
	"~DE": "downloads an encoding table into printer storage", "~DN": "aborts a download",
	"~DS": "downloads a font into printer storage", "~DT": "downloads a font into printer storage",
	"~DU": "downloads a font into printer storage", "^DF": "stores a format in printer storage",
	"^ID": "deletes objects from printer storage", "~EG": "erases stored graphics",
	"^KP": "sets the front-panel password", "^KN": "changes the printer's name",
	"^KL": "changes the display language", "^KC": "changes client identifiers",
	"^SC": "changes serial port settings", "^SE": "selects an encoding table",
	"^ST": "sets the real-time clock", "^SL": "changes the real-time clock mode",
	"^SZ": "switches the ZPL language mode", "^SX": "sets up alerts", "^SQ": "stops alerts",
	"^SR": "sets the print head resistance", "^SS": "changes media sensor settings",
	"^MU": "changes the units every coordinate is read in", "^MN": "changes media tracking",
	"^MT": "changes the media type (thermal transfer or direct)", "^MF": "changes the media feed action",
	"^JM": "changes the print resolution", "^JZ": "changes the reprint-after-error setting",
	"^JJ": "changes the applicator port", "^JW": "changes ribbon tension", "^JT": "changes head test settings",
	"^JS": "changes the backfeed sequence", "^JI": "starts a ZBI program", "~JI": "starts a ZBI program",
	"~JA": "cancels every queued format", "~JC": "calibrates the media sensors",
	"~JD": "enables communications diagnostics", "~JE": "disables communications diagnostics",
	"~JL": "sets the label length by feeding labels", "~JN": "changes head test settings",
	"~JO": "changes head test settings", "~JP": "pauses and cancels a format",
	"~JS": "changes the backfeed sequence", "~PL": "changes the present length",
	"~PP": "pauses the printer", "~PS": "resumes the printer", "~SD": "changes the darkness setting",
	"~TA": "changes the tear-off position", "~RO": "resets the printer's counters",
	"~HS": "asks the printer for its status", "~HI": "asks the printer for its identity",
	"~HM": "asks the printer for its memory status", "~HQ": "queries the printer",
	"^HH": "asks the printer for its configuration", "^HW": "lists the printer's storage",
	"^HT": "lists the printer's fonts", "^HF": "sends a stored format back", "^HG": "sends a stored graphic back",
	"^HV": "sends field data back", "^CW": "remaps a font identifier for later formats",
	"^FL": "links fonts for later formats",
}

// prefixChangers alter what the printer reads as a command: a document that
// uses them could hide anything from this check.
var prefixChangers = map[string]bool{"^CC": true, "~CC": true, "^CT": true, "~CT": true, "^CD": true, "~CD": true}

const defaultMaxZPL = 4 << 20

// zplCommand is one command found in a document.
type zplCommand struct {
	name   string // prefix + two letters, uppercased: "^FO", "~JR"
	offset int
}

// scanZPL lists every command in doc: each ^ or ~ followed by two
// characters, exactly as a printer's parser sees them (a ^ or ~ inside
// field data starts a command on a real printer too).
func scanZPL(doc []byte) []zplCommand {
	var cmds []zplCommand
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		if c != '^' && c != '~' {
			continue
		}
		name := []byte{c}
		j := i + 1
		for j < len(doc) && len(name) < 3 {
			if d := doc[j]; d != '\r' && d != '\n' {
				name = append(name, d)
			}
			j++
		}
		cmds = append(cmds, zplCommand{name: strings.ToUpper(string(name)), offset: i})
		i = j - 1
	}
	return cmds
}

// CheckZPL checks a ZPL document arriving from outside (a carrier, an
// integrator) before it may reach a printer: it must be one or more
// ^XA…^XZ formats with nothing but whitespace between them, and every
// command must describe a label. Device and configuration commands (~JR,
// ^JU, ^ND, ~WC, ^NC, ~DY and the like) are refused, with the command and
// the reason in a *ZPLError, unless the policy allows them.
func CheckZPL(doc []byte, p *Policy) error {
	maxBytes := defaultMaxZPL
	var allow []string
	if p != nil {
		if p.MaxBytes > 0 {
			maxBytes = p.MaxBytes
		}
		for _, a := range p.Allow {
			allow = append(allow, strings.ToUpper(a))
		}
	}
	if len(doc) > maxBytes {
		return &ZPLError{Offset: maxBytes, Reason: fmt.Sprintf("document is %d bytes, more than %d", len(doc), maxBytes)}
	}
	cmds := scanZPL(doc)
	inFormat := false
	pos := 0 // end of what has been accounted for
	for k, c := range cmds {
		if !inFormat {
			if gap := strings.TrimSpace(string(doc[pos:c.offset])); gap != "" {
				return &ZPLError{Offset: pos, Reason: "text outside a ^XA…^XZ format"}
			}
		}
		switch {
		case prefixChangers[c.name]:
			return &ZPLError{Offset: c.offset, Command: c.name, Reason: "changes the command prefix or delimiter, which would hide later commands from this check"}
		case c.name == "^XA":
			if inFormat {
				return &ZPLError{Offset: c.offset, Command: c.name, Reason: "^XA inside a format (missing ^XZ)"}
			}
			inFormat = true
		case c.name == "^XZ":
			if !inFormat {
				return &ZPLError{Offset: c.offset, Command: c.name, Reason: "^XZ without ^XA"}
			}
			inFormat = false
		case c.name == "^GF" && len(doc) > c.offset+3 && doc[c.offset+3] != 'A' && doc[c.offset+3] != 'a':
			// Binary graphic data may contain ^ and ~ bytes the scan would misread.
			return &ZPLError{Offset: c.offset, Command: c.name, Reason: "binary ^GF data (format B or C) cannot be checked; use ^GFA"}
		case labelCommands[c.name] || len(c.name) == 3 && c.name[0] == '^' && (c.name[1] == 'A' || c.name[1] == 'B'):
			if !inFormat {
				return &ZPLError{Offset: c.offset, Command: c.name, Reason: "label command outside a ^XA…^XZ format"}
			}
		case slices.Contains(allow, c.name):
		default:
			reason, ok := refusedReasons[c.name]
			switch {
			case ok:
			case c.name[0] == '~':
				reason = "immediate (tilde) command: acts on the printer, not on a label"
			default:
				reason = "not a label-formatting command"
			}
			return &ZPLError{Offset: c.offset, Command: c.name, Reason: reason + " (not allowed by the policy)"}
		}
		pos = c.offset + len(c.name)
		if k == len(cmds)-1 {
			pos = len(doc)
			if inFormat {
				return &ZPLError{Offset: len(doc), Reason: "missing ^XZ at the end"}
			}
			// Anything after the last ^XZ must be whitespace.
			end := c.offset + 3
			if end <= len(doc) && strings.TrimSpace(string(doc[end:])) != "" {
				return &ZPLError{Offset: end, Reason: "text after the last ^XZ"}
			}
		}
	}
	if len(cmds) == 0 {
		return &ZPLError{Offset: 0, Reason: "no ^XA…^XZ format"}
	}
	return nil
}
