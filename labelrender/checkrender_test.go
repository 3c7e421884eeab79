package labelrender

import (
	"bytes"
	"testing"
)

// TestRendererReadsRefusedStreamsAsCommands shows with the independent
// renderer (zpl-renderer-js) that what CheckZPL refuses is read as a
// command, not printed as text: each hostile stream renders exactly like
// the plain "hi" label (the hidden command ended the field and printed
// nothing) and unlike the same bytes printed as field data.
//
// The renderer does not implement the RS/DLE alternates (a stream made of
// RS prefixes parses to no label, and "hi<DLE>JR" prints something other
// than "hi") nor ^CD, so those cases rest on the Zebra guides cited in
// zpltoken.go, not on this test.
func TestRendererReadsRefusedStreamsAsCommands(t *testing.T) {
	t.Parallel()
	const plain = "^XA^FO10,10^A0N,40,40^FDhi^FS^XZ"
	cases := []struct{ hostile, asData, cmd string }{
		{"^XA^FO10,10^A0N,40,40^FDhi~JR^FS^XZ", "^XA^FO10,10^A0N,40,40^FDhiJR^FS^XZ", "~JR"},
		{"^XA^FO10,10^A0N,40,40^FDhi^JUS^FS^XZ", "^XA^FO10,10^A0N,40,40^FDhiJUS^FS^XZ", "^JU"},
		{"^XA^FO10,10^A0N,40,40^FDhi^jus^FS^XZ", "^XA^FO10,10^A0N,40,40^FDhijus^FS^XZ", "^JU"},
		// The prefix changes are followed: after ^CC! the ! starts commands,
		// after ~CT+ the + does.
		{"^XA^CC!!FO10,10!A0N,40,40!FDhi!JUS!FS!XZ", "^XA^FO10,10^A0N,40,40^FDhi!JUS^FS^XZ", "^CC"},
		{"^XA~CT+^FO10,10^A0N,40,40^FDhi+JR^FS^XZ", "^XA^FO10,10^A0N,40,40^FDhi+JR^FS^XZ", "~CT"},
	}
	base := queueZebrash(t, []byte(plain), 400, 100, 203)
	type pending struct{ hostile, asData *zebrashRender }
	var renders []pending
	for _, c := range cases {
		err := CheckZPL([]byte(c.hostile), nil)
		if ze, ok := err.(*ZPLError); !ok || ze.Command != c.cmd {
			t.Fatalf("CheckZPL(%q) = %v, want %s refused", c.hostile, err, c.cmd)
		}
		renders = append(renders, pending{queueZebrash(t, []byte(c.hostile), 400, 100, 203), queueZebrash(t, []byte(c.asData), 400, 100, 203)})
	}
	want, _ := base.wait(t)
	for i, r := range renders {
		h, _ := r.hostile.wait(t)
		d, _ := r.asData.wait(t)
		if bytes.Equal(d, want) {
			t.Fatalf("%q: printing the command as text looks like plain \"hi\"; the comparison proves nothing", cases[i].asData)
		}
		if !bytes.Equal(h, want) {
			t.Errorf("%q: the renderer did not read %s as a command (it drew something besides \"hi\")", cases[i].hostile, cases[i].cmd)
		}
	}
}
