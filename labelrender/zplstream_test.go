package labelrender

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// piece is one cut of splitStream, for comparing.
type piece struct {
	Command, Query, Data string
	Offset               int
}

// chunkReader hands out at most n bytes per Read, like a slow connection.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n, len(r.b))
	copy(p, r.b[:k])
	r.b = r.b[k:]
	return k, nil
}

// splitStream runs a ZPLSplitter under a bufio.Scanner over doc arriving
// chunk bytes at a time; it returns the pieces and the error that ended
// the stream (nil at a clean end).
func splitStream(doc []byte, chunk int) ([]piece, error) {
	sp := NewZPLSplitter()
	sc := bufio.NewScanner(&chunkReader{b: doc, n: chunk})
	sc.Buffer(make([]byte, 0, 16), len(doc)+16)
	sc.Split(sp.Split)
	var out []piece
	for sc.Scan() {
		l := sp.Last()
		out = append(out, piece{Command: l.Command, Query: l.Query, Data: sc.Text(), Offset: l.Offset})
	}
	return out, sc.Err()
}

var splitCases = []struct {
	name, in string
	want     []piece
	errAt    int // offset of the *ZPLError ending the stream; -1: none
}{
	{"one format", "^XA^FDa^FS^XZ", []piece{{Data: "^XA^FDa^FS^XZ"}}, -1},
	{"two formats and whitespace", " \r\n^XA^XZ\r\n\t^XA^PQ2^XZ\n", []piece{{Data: "^XA^XZ", Offset: 3}, {Data: "^XA^PQ2^XZ", Offset: 12}}, -1},
	{"lower case", "^xa^fdA^fs^xz", []piece{{Data: "^xa^fdA^fs^xz"}}, -1},
	{"line break inside a name", "^XA^FDa^X\r\nZ", []piece{{Data: "^XA^FDa^X\r\nZ"}}, -1},
	{"RS stands for the caret", "\x1eXA\x1eFDx\x1eXZ", []piece{{Data: "\x1eXA\x1eFDx\x1eXZ"}}, -1},
	{"host status", "~HS", []piece{{Command: "~HS", Data: "~HS"}}, -1},
	{"extended status then a format", "~hqes^XA^XZ", []piece{{Command: "~HQ", Query: "ES", Data: "~hqes"}, {Data: "^XA^XZ", Offset: 5}}, -1},
	{"DLE stands for the tilde", "\x10HS", []piece{{Command: "~HS", Data: "\x10HS"}}, -1},
	{"a tilde command inside a format stays in it", "^XA^FDx~HS^XZ", []piece{{Data: "^XA^FDx~HS^XZ"}}, -1},
	{"^XZ inside field data ends the format", "^XA^FDa^XZb^FS^XZ", []piece{{Data: "^XA^FDa^XZ"}}, 10},
	{"^CC moves the format's end", "^XA^CC+^FDa+XZ^XZ", []piece{{Data: "^XA^CC+^FDa+XZ"}}, 14},
	{"~CT between formats changes the status command", "~CT+\r\n+HS", []piece{{Command: "~CT", Data: "~CT+"}, {Command: "~HS", Data: "+HS", Offset: 6}}, -1},
	{"a setting between formats", "^XA^XZ^JUS", []piece{{Data: "^XA^XZ"}, {Command: "^JU", Data: "^JU", Offset: 6}}, 9},
	{"garbage", "hello", nil, 0},
	{"binary", "\x00\x01\x02", nil, 0},
	{"text after a format", "^XA^XZjunk", []piece{{Data: "^XA^XZ"}}, 6},
	{"cut inside a format", "^XA^XZ^XA^FDpart", []piece{{Data: "^XA^XZ"}}, 6},
	{"cut inside a name", "^XA^F", nil, 0},
	{"cut inside a command", "~H", nil, 0},
	{"cut inside ~HQ", "~HQE", nil, 0},
	{"cut before a prefix change's character", "^XA^CC", nil, 0},
	{"empty", "", nil, -1},
	{"only whitespace", " \r\n ", nil, -1},
}

func TestZPLSplitter(t *testing.T) {
	for _, tc := range splitCases {
		for _, chunk := range []int{1, 2, 3, 1 << 20} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, chunk), func(t *testing.T) {
				got, err := splitStream([]byte(tc.in), chunk)
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("pieces %+v, want %+v", got, tc.want)
				}
				var ze *ZPLError
				switch {
				case tc.errAt < 0 && err != nil:
					t.Errorf("error %v, want none", err)
				case tc.errAt >= 0 && !errors.As(err, &ze):
					t.Errorf("error %v, want a *ZPLError", err)
				case tc.errAt >= 0 && (ze.Offset != tc.errAt || !errors.Is(err, ErrRefused)):
					t.Errorf("error %v at %d, want one at %d matching ErrRefused", err, ze.Offset, tc.errAt)
				}
			})
		}
	}
}

// TestZPLSplitterLargeFormatScannedOnce: a format arriving in many small
// reads is not read again from its start on every read (the splitter
// resumes), so the work is linear in its size.
func TestZPLSplitterLargeFormatScannedOnce(t *testing.T) {
	doc := []byte("^XA^FO0,0^GFA,1,1,1," + strings.Repeat("F", 1<<20) + "^FS^XZ")
	sp := NewZPLSplitter()
	calls, scanned := 0, 0
	split := func(data []byte, atEOF bool) (int, []byte, error) {
		calls++
		before := sp.scan
		n, tok, err := sp.Split(data, atEOF)
		if tok == nil {
			scanned += sp.scan - before
		}
		return n, tok, err
	}
	sc := bufio.NewScanner(&chunkReader{b: doc, n: 512})
	sc.Buffer(make([]byte, 0, 512), 2<<20)
	sc.Split(split)
	if !sc.Scan() || sc.Text() != string(doc) {
		t.Fatalf("want the whole format, got %d bytes (%v)", len(sc.Bytes()), sc.Err())
	}
	if calls < 100 || scanned > len(doc) {
		t.Fatalf("%d calls scanned %d bytes of a %d byte format: want each byte once", calls, scanned, len(doc))
	}
}

// FuzzZPLSplitter: however the stream arrives, it is cut the same way;
// the cut agrees with CheckZPL (a document it accepts is exactly its
// formats, each accepted alone, and formats each accepted alone make an
// accepted document); tokens are the stream's bytes in order.
func FuzzZPLSplitter(f *testing.F) {
	for _, tc := range splitCases {
		f.Add([]byte(tc.in), uint8(1))
	}
	f.Add([]byte("^XA^FO50,50^A0N,30,30^FDHello^FS^XZ\r\n^XA^FO1,1^BCN,50^FD123^FS^PQ3^XZ"), uint8(5))
	lenient := &Policy{MaxCopies: 1 << 30}
	f.Fuzz(func(t *testing.T, doc []byte, chunk uint8) {
		whole, werr := splitStream(doc, len(doc)+1)
		cut, cerr := splitStream(doc, int(chunk)%16+1)
		if !reflect.DeepEqual(whole, cut) || (werr == nil) != (cerr == nil) {
			t.Fatalf("whole %+v (%v) but in chunks of %d %+v (%v)", whole, werr, int(chunk)%16+1, cut, cerr)
		}
		var ze *ZPLError
		if werr != nil && !errors.As(werr, &ze) {
			t.Fatalf("stream error %v: want a *ZPLError", werr)
		}
		end := 0
		allFormats := werr == nil
		for _, p := range whole {
			if p.Offset < end || string(doc[p.Offset:p.Offset+len(p.Data)]) != p.Data ||
				strings.TrimLeft(string(doc[end:p.Offset]), " \t\r\n\v\f") != "" {
				t.Fatalf("piece %q at %d is not the stream's next bytes after %d", p.Data, p.Offset, end)
			}
			end = p.Offset + len(p.Data)
			if p.Command != "" || CheckZPL([]byte(p.Data), lenient) != nil {
				allFormats = false
			}
		}
		rep, err := InspectZPL(doc, lenient)
		if err == nil {
			if werr != nil || len(whole) != rep.Formats || !allFormats {
				t.Fatalf("CheckZPL accepts %d formats, the splitter cut %+v (%v)", rep.Formats, whole, werr)
			}
		} else if allFormats && len(whole) > 0 {
			t.Fatalf("the splitter cut %+v, each accepted alone, but CheckZPL refuses the whole: %v", whole, err)
		}
	})
}
