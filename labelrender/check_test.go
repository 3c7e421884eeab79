package labelrender

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var checkCases = []struct {
	name, doc string
	policy    *Policy
	cmd       string // refused command; "" with ok
	ok        bool
	reason    string
}{
	{name: "plain label", doc: "^XA^FO50,50^A0N,30,30^FDhello^FS^XZ", ok: true},
	{name: "two formats and whitespace", doc: "\r\n^XA^FDa^FS^XZ\n^XA^PQ2^XZ\n", ok: true},
	{name: "lower case", doc: "^xa^fo1,1^fdA^fs^xz", ok: true},
	{name: "carrier style (allowed settings)", doc: "^XA^MMT^PW812^LL1218^LS0^MD10^PON^PMN^LRN^CI0^FO0,0^GFA,2,2,1,FF00^FS^BY3^BCN,100^FD1Z^FS^PQ1,0,1,Y^XZ",
		policy: &Policy{Allow: []string{"^MM", "^LS", "^MD"}}, ok: true},
	{name: "carrier style without its settings", doc: "^XA^PW812^LL1218^PON^PMN^LRN^CI0^FO0,0^GFA,2,2,1,FF00^FS^BY3^BCN,100^FD1Z^FS^PQ1,0,1,Y^XZ", ok: true},
	{name: "field data with text and commas", doc: "^XA^FO10,10^FH^FDa,b_5E_7E c^FS^XZ", ok: true},
	{name: "reset", doc: "^XA^FDx^FS^XZ~JR", cmd: "~JR", reason: "resets the printer"},
	{name: "save config", doc: "^XA^JUS^XZ", cmd: "^JU", reason: "saves or reloads"},
	{name: "network", doc: "^XA^ND2,P,192.168.0.9^XZ", cmd: "^ND", reason: "network"},
	{name: "config label", doc: "~WC", cmd: "~WC", reason: "configuration label"},
	{name: "network device", doc: "^XA^NC2^XZ", cmd: "^NC", reason: "network device"},
	{name: "download object", doc: "~DYE:X.GRF,A,G,1,1,FF^XA^XZ", cmd: "~DY", reason: "downloads"},
	{name: "tilde inside field data", doc: "^XA^FDBob~JR^FS^XZ", cmd: "~JR"},
	{name: "injected QR is fine, injected ~ is not", doc: "^XA^FDBob^FS^FO50,400^BQN,2,10^FDQA,pwned~DG^FS^XZ", cmd: "~DG"},
	{name: "unknown tilde", doc: "^XA^XZ~ZZ", cmd: "~ZZ", reason: "immediate"},
	{name: "unknown caret", doc: "^XA^QQ^XZ", cmd: "^QQ", reason: "not a label-formatting command"},
	{name: "prefix change", doc: "^XA^CC!^XZ", cmd: "^CC", reason: "prefix"},
	{name: "prefix change allowed is still refused", doc: "^XA~CT+^XZ", policy: &Policy{Allow: []string{"~CT"}}, cmd: "~CT"},
	{name: "policy allows reset", doc: "^XA^XZ~jr", policy: &Policy{Allow: []string{"~JR"}}, ok: true},
	{name: "policy allows media tracking", doc: "^XA^MNY^XZ", policy: &Policy{Allow: []string{"^mn"}}, ok: true},
	{name: "media tracking refused by default", doc: "^XA^MNY^XZ", cmd: "^MN", reason: "media tracking"},
	{name: "binary graphic", doc: "^XA^GFB,1,1,1,\x00^XZ", cmd: "^GF", reason: "binary"},
	{name: "command split by newline", doc: "^XA^J\nUS^XZ", cmd: "^JU"},
	{name: "no format", doc: "hello", reason: "no ^XA"},
	{name: "empty", doc: "", reason: "no ^XA"},
	{name: "missing XZ", doc: "^XA^FDx^FS", reason: "missing ^XZ"},
	{name: "nested XA", doc: "^XA^XA^XZ", cmd: "^XA", reason: "inside a format"},
	{name: "XZ first", doc: "^XZ", cmd: "^XZ", reason: "without ^XA"},
	{name: "text between formats", doc: "^XA^XZ junk ^XA^XZ", reason: "outside"},
	{name: "text after XZ", doc: "^XA^XZ junk", reason: "after the last ^XZ"},
	{name: "label command outside", doc: "^FO1,1^XA^XZ", cmd: "^FO", reason: "outside"},
	// Alternate prefixes: RS for ^, DLE for ~ (issue 12).
	{name: "DLE reset in field data", doc: "^XA^FO10,10^FDhi\x10JR^FS^XZ", cmd: "~JR", reason: "resets"},
	{name: "RS factory defaults", doc: "\x1eJUF", cmd: "^JU", reason: "saves or reloads"},
	{name: "RS factory defaults in a format", doc: "^XA^FDx\x1eJUF^FS^XZ", cmd: "^JU"},
	{name: "RS lower case", doc: "^XA\x1ejus^XZ", cmd: "^JU"},
	{name: "RS opens a format", doc: "\x1eXA\x1eFDx\x1eFS\x1eXZ", ok: true},
	{name: "RS network", doc: "^XA\x1eND2,P,10.0.0.9^XZ", cmd: "^ND"},
	{name: "DLE config label", doc: "^XA^XZ\x10WC", cmd: "~WC"},
	{name: "US delimiter in ^PQ", doc: "^XA^PQ99\x1f0\x1f1\x1fY^XZ", cmd: "^PQ", reason: "more than 10"},
	// Prefix and delimiter changes, with and without argument.
	{name: "tilde prefix change", doc: "^XA~CC!^XZ", cmd: "~CC", reason: "prefix"},
	{name: "tilde change", doc: "^XA^CT+^XZ+JR", cmd: "^CT", reason: "prefix"},
	{name: "delimiter change", doc: "^XA^CD;^FO1;1^XZ", cmd: "^CD", reason: "delimiter"},
	{name: "RS prefix change", doc: "^XA\x1eCC!!JUF!XZ", cmd: "^CC"},
	{name: "DLE prefix change", doc: "^XA^FDx\x10CT+^FS^XZ", cmd: "~CT"},
	{name: "prefix change lower case", doc: "^XA^cc!!jus!xz", cmd: "^CC"},
	{name: "prefix change allowed is still refused (CD)", doc: "^XA^CD;^XZ", policy: &Policy{Allow: []string{"^CD"}}, cmd: "^CD"},
	// Commands split across fields, lines and case.
	{name: "caret command in field data", doc: "^XA^FDBob^JUS^FS^XZ", cmd: "^JU"},
	{name: "command split by CRLF", doc: "^XA~J\r\nR^XZ", cmd: "~JR"},
	{name: "command after FH field", doc: "^XA^FH^FD_7EJR~JR^FS^XZ", cmd: "~JR"},
	{name: "FV field data", doc: "^XA^FVx~JA^FS^XZ", cmd: "~JA", reason: "cancels"},
	{name: "comment hides nothing", doc: "^XA^FXcomment ^MNY^FS^XZ", cmd: "^MN"},
	{name: "mixed case tilde", doc: "^XA^XZ~jR", cmd: "~JR"},
	// Every persistent setting is refused by default.
	{name: "JU", doc: "^XA^JUS^XZ", cmd: "^JU"},
	{name: "NS", doc: "^XA^NSs,10.0.0.1^XZ", cmd: "^NS", reason: "network"},
	{name: "LS", doc: "^XA^LS0^XZ", cmd: "^LS", reason: "shifts"},
	{name: "LT", doc: "^XA^LT10^XZ", cmd: "^LT", reason: "label top"},
	{name: "MD", doc: "^XA^MD10^XZ", cmd: "^MD", reason: "darkness"},
	{name: "PR", doc: "^XA^PR4^XZ", cmd: "^PR", reason: "speed"},
	{name: "MM", doc: "^XA^MMT^XZ", cmd: "^MM", reason: "print mode"},
	{name: "MT", doc: "^XA^MTD^XZ", cmd: "^MT", reason: "media type"},
	{name: "SD", doc: "~SD25^XA^XZ", cmd: "~SD", reason: "darkness"},
	{name: "KN", doc: "^XA^KNbench^XZ", cmd: "^KN", reason: "name"},
	{name: "JA", doc: "~JA^XA^XZ", cmd: "~JA", reason: "cancels"},
	{name: "policy allows LS", doc: "^XA^ls0^XZ", policy: &Policy{Allow: []string{"^LS"}}, ok: true},
	// ^PQ is capped.
	{name: "PQ at the default cap", doc: "^XA^PQ10,0,1,Y^XZ", ok: true},
	{name: "PQ above the default cap", doc: "^XA^PQ11^XZ", cmd: "^PQ", reason: "more than 10"},
	{name: "PQ huge", doc: "^XA^PQ99999999999999999999999^XZ", cmd: "^PQ", reason: "more than 10"},
	{name: "PQ above the policy cap", doc: "^XA^PQ3^XZ", policy: &Policy{MaxCopies: 2}, cmd: "^PQ", reason: "more than 2"},
	{name: "PQ empty quantity", doc: "^XA^PQ,0,1^XZ", policy: &Policy{MaxCopies: 1}, ok: true},
	{name: "PQ not a number", doc: "^XA^PQ1x^XZ", cmd: "^PQ", reason: "not a number"},
	{name: "PQ split by newline", doc: "^XA^PQ1\n5^XZ", cmd: "^PQ", reason: "more than 10"},
	// The cap is on the labels of the whole document (issue #12): each
	// format prints its ^PQ quantity (1 without one), and the formats add up.
	{name: "PQ per format adds up", doc: strings.Repeat("^XA^FDa^FS^PQ10^XZ", 50), cmd: "", reason: "the 2 formats up to here print 20 labels, more than 10"},
	{name: "formats without PQ add up", doc: strings.Repeat("^XA^FDa^FS^XZ", 11), cmd: "", reason: "print 11 labels, more than 10"},
	{name: "formats at the cap", doc: strings.Repeat("^XA^FDa^FS^XZ", 8) + "^XA^PQ2^XZ", ok: true},
	{name: "PQ0 prints one", doc: strings.Repeat("^XA^PQ0^XZ", 10), ok: true},
	{name: "two PQ in a format count once", doc: "^XA^PQ6^FDa^FS^PQ6^XZ", ok: true},
	{name: "50 formats of PQ10 under the job cap", doc: strings.Repeat("^XA^FDa^FS^PQ10^XZ", 50), policy: &Policy{MaxCopies: 1000}, ok: true},
	{name: "50 formats of PQ10 sent 3 times", doc: strings.Repeat("^XA^FDa^FS^PQ10^XZ", 50), policy: &Policy{MaxCopies: 1000, Copies: 3},
		reason: "print 340 labels each of 3 copies (1020), more than 1000"},
	{name: "PQ at the job cap twice", doc: "^XA^PQ1000^XZ^XA^PQ1000^XZ", policy: &Policy{MaxCopies: 1000}, reason: "print 2000 labels, more than 1000"},
	{name: "PQ with copies", doc: "^XA^PQ400^XZ", policy: &Policy{MaxCopies: 1000, Copies: 3}, reason: "(1200), more than 1000"},
	{name: "too big", doc: "^XA" + strings.Repeat(" ", 100) + "^XZ", policy: &Policy{MaxBytes: 50}, reason: "more than 50"},
}

func TestCheckZPL(t *testing.T) {
	for _, tc := range checkCases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckZPL([]byte(tc.doc), tc.policy)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ze *ZPLError
			if !errors.As(err, &ze) || !errors.Is(err, ErrRefused) {
				t.Fatalf("err = %v, want a *ZPLError", err)
			}
			if ze.Command != tc.cmd {
				t.Fatalf("command %q, want %q (%v)", ze.Command, tc.cmd, err)
			}
			if !strings.Contains(ze.Reason, tc.reason) || !strings.Contains(err.Error(), ze.Reason) {
				t.Fatalf("reason %q, want it to mention %q", ze.Reason, tc.reason)
			}
		})
	}
}

func TestCheckZPLAcceptsOurOutput(t *testing.T) {
	t.Parallel()
	goldens, err := filepath.Glob(filepath.Join("testdata", "*.zpl"))
	if err != nil || len(goldens) == 0 {
		t.Fatalf("no golden ZPL in testdata (%v)", err)
	}
	for _, g := range goldens {
		z, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckZPL(z, nil); err != nil {
			t.Fatalf("golden %s: %v", g, err)
		}
	}
	l := referenceLabel(t)
	for _, dpi := range goldenDPIs {
		o := &Options{DPI: dpi, Date: refDate}
		z, err := RenderZPL(l, o)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckZPL(z, nil); err != nil {
			t.Fatalf("native %d: %v", dpi, err)
		}
		for _, enc := range []Encoding{Z64, ACS} {
			z, err := RenderRasterZPL(l, o, enc)
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckZPL(z, nil); err != nil {
				t.Fatalf("raster %v %d: %v", enc, dpi, err)
			}
		}
	}
}

// modelCommand is one command as the independent model sees it.
type modelCommand struct {
	at   int
	name string
}

// modelZPL is a second, separately written reading of a ZPL stream, used
// only to cross-check tokenizeZPL: a byte-at-a-time state machine with the
// rules from the Zebra guides (see zpltoken.go for the sources). It does not
// call the code under test.
func modelZPL(doc string) []modelCommand {
	const (
		text = iota
		name1
		name2
		newChar
	)
	var (
		out        []modelCommand
		caret      = byte('^')
		tilde      = byte('~')
		state      = text
		cur        modelCommand
		changeWhat byte
	)
	for i := 0; i < len(doc); i++ {
		b := doc[i]
		if state != text && (b == '\r' || b == '\n') {
			continue // CR and LF are dropped inside a command name too
		}
		switch state {
		case text:
			switch {
			case b == caret || b == 0x1e:
				cur, state = modelCommand{at: i, name: "^"}, name1
			case b == tilde || b == 0x10:
				cur, state = modelCommand{at: i, name: "~"}, name1
			}
		case name1:
			c := b
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			cur.name += string([]byte{c})
			state = name2
		case name2:
			c := b
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			cur.name += string([]byte{c})
			out = append(out, cur)
			state = text
			if cur.name[1:] == "CC" || cur.name[1:] == "CT" || cur.name[1:] == "CD" {
				changeWhat, state = cur.name[2], newChar
			}
		case newChar:
			switch changeWhat {
			case 'C':
				caret = b
			case 'T':
				tilde = b
			}
			state = text
		}
	}
	if state == name1 || state == name2 {
		out = append(out, cur)
	}
	return out
}

// drawCommands is the test's own list of what may draw a format (^A and ^B
// families aside); CheckZPL must never accept anything else by default.
var drawCommands = map[string]bool{
	"^XA": true, "^XZ": true, "^FO": true, "^FT": true, "^FD": true, "^FS": true, "^FH": true,
	"^FB": true, "^FR": true, "^FV": true, "^FN": true, "^FX": true, "^FW": true, "^FP": true,
	"^FC": true, "^FM": true, "^TB": true, "^PA": true, "^CF": true, "^CI": true, "^PW": true,
	"^LL": true, "^LH": true, "^LR": true, "^PO": true, "^PM": true, "^PQ": true, "^GB": true,
	"^GC": true, "^GD": true, "^GE": true, "^GF": true, "^GS": true, "^XG": true, "^IL": true,
	"^IM": true, "^SN": true, "^SF": true, "^PF": true,
}

func TestModelAgreesOnKnownStreams(t *testing.T) {
	for _, tc := range checkCases {
		checkAgainstModel(t, tc.doc)
	}
}

// checkAgainstModel compares the tokenizer with the model and CheckZPL's
// verdict with the model's commands.
func checkAgainstModel(t *testing.T, doc string) {
	t.Helper()
	want := modelZPL(doc)
	got := tokenizeZPL([]byte(doc))
	if len(got) != len(want) {
		t.Fatalf("%q: tokenizer found %d commands, model %d (%v)", doc, len(got), len(want), want)
	}
	for i := range want {
		if got[i].offset != want[i].at || got[i].name != want[i].name {
			t.Fatalf("%q: command %d is %s at %d, model says %s at %d", doc, i, got[i].name, got[i].offset, want[i].name, want[i].at)
		}
	}
	if CheckZPL([]byte(doc), nil) != nil {
		return
	}
	for _, c := range want {
		n := c.name
		family := len(n) == 3 && n[0] == '^' && (n[1] == 'A' || n[1] == 'B')
		if !drawCommands[n] && !family {
			t.Fatalf("accepted %q although it holds %s at %d", doc, c.name, c.at)
		}
	}
}

// FuzzCheckZPL is the differential target: the tokenizer must read every
// stream as the independent model does, and CheckZPL must accept only
// streams whose commands (as the model reads them) all draw a format.
func FuzzCheckZPL(f *testing.F) {
	for _, tc := range checkCases {
		f.Add(tc.doc)
	}
	for _, name := range []string{"reference-203.zpl", "return-4x4-203.zpl"} {
		z, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(z))
	}
	f.Fuzz(func(t *testing.T, doc string) {
		err := CheckZPL([]byte(doc), nil)
		if err != nil && !errors.Is(err, ErrRefused) {
			t.Fatalf("error %v is not ErrRefused", err)
		}
		checkAgainstModel(t, doc)
	})
}

// TestInspectZPL: an accepted document reports its formats, the labels
// they print and the setting commands the policy allowed, each once.
func TestInspectZPL(t *testing.T) {
	doc := []byte("^XA^MMT^LS0^FDa^FS^PQ2^XZ\n^xa^ls0^MD10^FDb^FS^XZ")
	rep, err := InspectZPL(doc, &Policy{Allow: []string{"^ls", "^MM", "^MD"}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Formats != 2 || rep.Labels != 3 || !slices.Equal(rep.Allowed, []string{"^MM", "^LS", "^MD"}) {
		t.Fatalf("report %+v", rep)
	}
	if _, err := InspectZPL(doc, nil); err == nil {
		t.Fatal("accepted ^MMT without a policy")
	}
	rep, err = InspectZPL([]byte("^XA^FDa^FS^XZ"), &Policy{Allow: []string{"^LS"}})
	if err != nil || rep.Allowed != nil || rep.Labels != 1 {
		t.Fatalf("plain label: %+v %v", rep, err)
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := (&Policy{Allow: []string{"^LS", "^mm", "^MD", "~SD", "^JU", "~JR", "^ND", "^NS", "^KN"}}).Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		allow []string
		want  string
	}{
		{[]string{"^LS", "LS"}, `allow[1]: "LS": want one command`},
		{[]string{"^L*"}, "not a printer command"},
		{[]string{"^J"}, "want one command"},
		{[]string{"^CC"}, "never allowed"},
		{[]string{"~CT"}, "never allowed"},
		{[]string{"^FO"}, "always allowed"},
		{[]string{"^BC"}, "always allowed"},
		{[]string{"^ZZ"}, "not a printer command"},
		{[]string{"^LS", "^ls"}, "listed twice"},
	} {
		err := (&Policy{Allow: tc.allow}).Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.allow, err, tc.want)
		}
	}
}
