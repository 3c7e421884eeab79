package labelrender

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Policy relaxes CheckZPL. The zero value (and nil) allows only the
// commands that draw one format.
type Policy struct {
	// Allow lists commands to accept even though they act on the printer
	// rather than the label, e.g. "^MN" or "~JR". Commands that change the
	// command prefix or delimiter (^CC ~CC ^CT ~CT ^CD ~CD) are refused
	// whatever this says: a stream that redefines its own syntax is not
	// worth the risk of reading it differently from the printer.
	Allow []string
	// MaxBytes bounds the document; 0 means 4 MiB.
	MaxBytes int
	// MaxCopies bounds the labels the document prints: every ^PQ quantity,
	// and the total over all its formats (a format prints its ^PQ
	// quantity, 1 without one) times Copies. 0 means DefaultMaxCopies.
	// The bench's callers pass the same limit as a job's copies
	// (queue.MaxCopies), so a stream of formats cannot print more labels
	// than a job could, however it spreads them.
	MaxCopies int
	// Copies is how many times the job sends the document (a job's
	// copies); 0 means 1.
	Copies int
}

// ZPLReport is what InspectZPL found in an accepted document.
type ZPLReport struct {
	// Formats is the number of ^XA…^XZ formats.
	Formats int
	// Labels is how many labels one sending of the document prints: the
	// sum over its formats of the largest ^PQ quantity in each (1 without
	// one, as for ^PQ0).
	Labels int
	// Allowed lists the commands outside the label set that the policy's
	// Allow let through, each once, in the order first used. Callers log
	// them: they change the printer beyond this document.
	Allowed []string
}

// Validate checks Allow as an admin's config: each entry one command
// written out ("^LS", "~SD"; case does not matter), one that CheckZPL would
// otherwise refuse and may allow. Families and wildcards are not taken, so
// a persistent setting (^JU, ~JR, ^ND, ^NS, ~SD, ^KN …) is allowed only by
// being named; prefix and delimiter changes cannot be allowed at all.
// Errors name the entry: "allow[1]: …".
func (p *Policy) Validate() error {
	if p == nil {
		return nil
	}
	seen := map[string]bool{}
	for i, a := range p.Allow {
		c := strings.ToUpper(a)
		bad := func(format string, args ...any) error {
			return fmt.Errorf("allow[%d]: %q: %s", i, a, fmt.Sprintf(format, args...))
		}
		switch {
		case len(c) != 3 || c[0] != '^' && c[0] != '~':
			return bad("want one command like \"^LS\" or \"~SD\"")
		case prefixChangeCommands[c]:
			return bad("changes the command prefix or delimiter: never allowed")
		case labelCommands[c] || c[0] == '^' && (c[1] == 'A' || c[1] == 'B'):
			return bad("draws a label: always allowed, do not list it")
		case refusedReasons[c] == "":
			return bad("not a printer command this check knows, so there is nothing to allow")
		case seen[c]:
			return bad("listed twice")
		}
		seen[c] = true
	}
	return nil
}

// DefaultMaxCopies caps ^PQ when the policy sets no MaxCopies.
const DefaultMaxCopies = 10

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
// barcodes, graphics and the layout settings every label sets for itself
// (^PW ^LL ^LH ^PO ^PM ^LR ^CI). Settings that change the printer for every
// later job and that no label of ours needs (^LS label shift, ^LT label top,
// ^MD/~SD darkness, ^PR speed, ^MM print mode, ^MN media tracking, ^MT
// media type) are refused unless the policy allows them, like the device
// commands (^JU, ~JR, ^ND, ^NS, ^KN …) and ~JA, which cancels the other
// jobs queued in the printer. ^A (fonts) and ^B
// (barcodes) are families matched by their first letter.
var labelCommands = map[string]bool{
	"^XA": true, "^XZ": true, "^FO": true, "^FT": true, "^FD": true, "^FS": true,
	"^FH": true, "^FB": true, "^FR": true, "^FV": true, "^FN": true, "^FX": true,
	"^FW": true, "^FP": true, "^FC": true, "^FM": true, "^TB": true, "^PA": true,
	"^CF": true, "^CI": true, "^PW": true, "^LL": true, "^LH": true,
	"^LR": true, "^PO": true, "^PM": true, "^PQ": true, "^BY": true, "^GB": true, "^GC": true, "^GD": true, "^GE": true,
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
	"^LS": "shifts every later label (kept until power-off)", "^LT": "moves the label top for every later label",
	"^MD": "changes the darkness setting", "^PR": "changes the print speed",
	"^MM": "changes the print mode (tear-off, peel, cutter…)",
}

const defaultMaxZPL = 4 << 20

// CheckZPL checks a ZPL document arriving from outside (a carrier, an
// integrator) before it may reach a printer. It reads the stream as a
// printer does (tokenizeZPL: RS and DLE stand for ^ and ~, the prefixes can
// be redefined, case does not matter, a prefix inside field data starts a
// command). The document must be one or more ^XA…^XZ formats with nothing
// but whitespace between them, every command must draw a format, and a ^PQ
// may not ask for more copies than the policy's MaxCopies. Device and
// persistent-setting commands (~JR, ^JU, ^ND, ^LS, ^MD, ~SD, ^KN, ~JA and
// the like) are refused, with the command and the reason in a *ZPLError,
// unless the policy allows them; prefix and delimiter changes always are.
func CheckZPL(doc []byte, p *Policy) error {
	_, err := InspectZPL(doc, p)
	return err
}

// InspectZPL checks doc as CheckZPL does and, when it passes, reports the
// formats, the labels they print and the allowed setting commands used.
func InspectZPL(doc []byte, p *Policy) (ZPLReport, error) {
	rep, err := inspectZPL(doc, p)
	if err != nil {
		return ZPLReport{}, err
	}
	return rep, nil
}

func inspectZPL(doc []byte, p *Policy) (ZPLReport, error) {
	var rep ZPLReport
	maxBytes, maxCopies, copies := defaultMaxZPL, DefaultMaxCopies, 1
	var allow []string
	if p != nil {
		if p.MaxBytes > 0 {
			maxBytes = p.MaxBytes
		}
		if p.MaxCopies > 0 {
			maxCopies = p.MaxCopies
		}
		if p.Copies > 1 {
			copies = p.Copies
		}
		for _, a := range p.Allow {
			allow = append(allow, strings.ToUpper(a))
		}
	}
	if len(doc) > maxBytes {
		return rep, &ZPLError{Offset: maxBytes, Reason: fmt.Sprintf("document is %d bytes, more than %d", len(doc), maxBytes)}
	}
	toks := tokenizeZPL(doc)
	if len(toks) == 0 {
		return rep, &ZPLError{Offset: 0, Reason: "no ^XA…^XZ format"}
	}
	if strings.TrimSpace(string(doc[:toks[0].offset])) != "" {
		return rep, &ZPLError{Offset: 0, Reason: "text outside a ^XA…^XZ format"}
	}
	inFormat := false
	quantity := 0 // the largest ^PQ of the current format; 0: none yet
	for k, c := range toks {
		switch {
		case prefixChangeCommands[c.name]:
			return rep, &ZPLError{Offset: c.offset, Command: c.name, Reason: "changes the command prefix or delimiter, which would hide later commands from this check"}
		case c.name == "^XA":
			if inFormat {
				return rep, &ZPLError{Offset: c.offset, Command: c.name, Reason: "^XA inside a format (missing ^XZ)"}
			}
			inFormat, quantity = true, 0
		case c.name == "^XZ":
			if !inFormat {
				return rep, &ZPLError{Offset: c.offset, Command: c.name, Reason: "^XZ without ^XA"}
			}
			inFormat = false
			// Each format prints its own ^PQ quantity (at least one label),
			// so the cap is on the sum: 50 formats of ^PQ10 are 500 labels.
			rep.Formats++
			rep.Labels += max(quantity, 1)
			if int64(rep.Labels)*int64(copies) > int64(maxCopies) {
				reason := fmt.Sprintf("the %d formats up to here print %d labels", rep.Formats, rep.Labels)
				if copies > 1 {
					reason += fmt.Sprintf(" each of %d copies (%d)", copies, rep.Labels*copies)
				}
				return rep, &ZPLError{Offset: c.offset, Reason: reason + fmt.Sprintf(", more than %d", maxCopies)}
			}
			if strings.TrimSpace(c.arg) != "" {
				if k == len(toks)-1 {
					return rep, &ZPLError{Offset: c.offset + 3, Reason: "text after the last ^XZ"}
				}
				return rep, &ZPLError{Offset: c.offset + 3, Reason: "text outside a ^XA…^XZ format"}
			}
		case c.name == "^GF" && !strings.HasPrefix(strings.ToUpper(c.arg), "A"):
			// Binary graphic data may contain prefix bytes the printer
			// reads as data (it counts bytes) but this check would not.
			return rep, &ZPLError{Offset: c.offset, Command: c.name, Reason: "binary ^GF data (format B or C) cannot be checked; use ^GFA"}
		case labelCommands[c.name] || len(c.name) == 3 && c.name[0] == '^' && (c.name[1] == 'A' || c.name[1] == 'B'):
			if !inFormat {
				return rep, &ZPLError{Offset: c.offset, Command: c.name, Reason: "label command outside a ^XA…^XZ format"}
			}
			if c.name == "^PQ" {
				n, err := checkQuantity(c, maxCopies)
				if err != nil {
					return rep, err
				}
				quantity = max(quantity, n)
			}
		case slices.Contains(allow, c.name):
			if !slices.Contains(rep.Allowed, c.name) {
				rep.Allowed = append(rep.Allowed, c.name)
			}
		default:
			reason, ok := refusedReasons[c.name]
			switch {
			case ok:
			case c.name[0] == '~':
				reason = "immediate (tilde) command: acts on the printer, not on a label"
			default:
				reason = "not a label-formatting command"
			}
			return rep, &ZPLError{Offset: c.offset, Command: c.name, Reason: reason + " (not allowed by the policy)"}
		}
	}
	if inFormat {
		return rep, &ZPLError{Offset: len(doc), Reason: "missing ^XZ at the end"}
	}
	return rep, nil
}

// checkQuantity reads a ^PQ's quantity (its first parameter, 1 when empty)
// and refuses one above maxCopies or not a number.
func checkQuantity(c zplToken, maxCopies int) (int, error) {
	q := strings.TrimSpace(c.params()[0])
	if q == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(q)
	switch {
	case err != nil && len(q) > 0 && strings.Trim(q, "0123456789") == "":
		n = maxCopies + 1 // too many digits for an int: far above any cap
	case err != nil || n < 0:
		return 0, &ZPLError{Offset: c.offset, Command: c.name, Reason: fmt.Sprintf("quantity %q is not a number", q)}
	}
	if n > maxCopies {
		return 0, &ZPLError{Offset: c.offset, Command: c.name, Reason: fmt.Sprintf("quantity %d is more than %d copies", n, maxCopies)}
	}
	return n, nil
}
