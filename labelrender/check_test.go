package labelrender

import (
	"errors"
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
	{name: "carrier style", doc: "^XA^MMT^PW812^LL1218^LS0^MD10^PON^PMN^LRN^CI0^FO0,0^GFA,2,2,1,FF00^FS^BY3^BCN,100^FD1Z^FS^PQ1,0,1,Y^XZ", ok: true},
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

func FuzzCheckZPL(f *testing.F) {
	for _, tc := range checkCases {
		f.Add(tc.doc)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		err := CheckZPL([]byte(doc), nil)
		if err != nil {
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("error %v is not ErrRefused", err)
			}
			return
		}
		// An accepted document has no command outside the label set.
		for _, c := range scanZPL([]byte(doc)) {
			if refusedReasons[c.name] != "" || prefixChangers[c.name] || c.name[0] == '~' {
				t.Fatalf("accepted %q with %s", doc, c.name)
			}
		}
	})
}
