package device

import (
	"errors"
	"strings"
	"testing"
)

func hs(l1, l2, l3 string) string {
	return "\x02" + l1 + "\x03\r\n\x02" + l2 + "\x03\r\n\x02" + l3 + "\x03\r\n"
}

var hsCases = []struct {
	name  string
	reply string
	want  Status // compared field by field below; State always
	err   string // substring of the error; "" = valid
}{
	{name: "ready", reply: hs("030,0,0,1245,000,0,0,0,000,0,0,0", "001,0,0,0,1,2,6,0,00000000,1,000", "1234,0"),
		want: Status{State: StateReady, CommSettings: 30, LabelLength: 1245, FunctionSettings: 1, ThermalTransfer: true,
			PrintMode: 2, WidthMode: 6, FormatWhilePrint: 1, Password: "1234"}},
	{name: "paper out", reply: hs("030,1,0,1245,000,0,0,0,000,0,0,0", "001,0,0,0,1,2,6,0,00000000,1,000", "1234,0"),
		want: Status{State: StatePaperOut, PaperOut: true}},
	{name: "paused", reply: hs("030,0,1,1245,000,0,0,0,000,0,0,0", "001,0,0,0,1,2,6,0,00000000,1,000", "1234,0"),
		want: Status{State: StatePaused, Paused: true}},
	{name: "head open", reply: hs("030,0,0,1245,000,0,0,0,000,0,0,0", "001,0,1,0,1,2,6,0,00000000,1,000", "1234,0"),
		want: Status{State: StateHeadOpen, HeadOpen: true}},
	{name: "ribbon out", reply: hs("030,0,0,1245,000,0,0,0,000,0,0,0", "001,0,0,1,1,2,6,0,00000000,1,000", "1234,0"),
		want: Status{State: StateRibbonOut, RibbonOut: true}},
	{name: "buffer full", reply: hs("030,0,0,1245,003,1,0,0,000,0,0,0", "001,0,0,0,1,2,6,0,00000000,1,000", "1234,0"),
		want: Status{State: StateBusy, BufferFull: true, FormatsInBuffer: 3}},
	{name: "over temp", reply: hs("030,0,0,1245,000,0,0,0,000,0,0,1", "001,0,0,0,1,2,6,0,00000000,1,000", "1234,0"),
		want: Status{State: StateOverTemp, OverTemp: true}},
	{name: "under temp", reply: hs("030,0,0,1245,000,0,0,0,000,0,1,0", "001,0,0,0,1,2,6,0,00000000,1,000", "1234,0"),
		want: Status{State: StateUnderTemp, UnderTemp: true}},
	{name: "printing", reply: hs("030,0,0,0609,002,0,0,0,000,0,0,0", "001,0,0,0,0,2,6,0,00000005,1,003", "1234,1"),
		want: Status{State: StatePrinting, LabelLength: 609, FormatsInBuffer: 2, LabelsRemaining: 5, GraphicsStored: 3, StaticRAM: true}},
	{name: "partial format", reply: hs("030,0,0,0609,000,0,0,1,000,0,0,0", "001,0,0,0,0,2,6,0,00000000,1,000", "1234,0"),
		want: Status{State: StatePrinting, PartialFormat: true}},
	{name: "head open and paper out: head first", reply: hs("030,1,1,1245,000,0,0,0,000,0,0,0", "001,0,1,0,1,2,6,0,00000000,1,000", "1234,0"),
		want: Status{State: StateHeadOpen, PaperOut: true, Paused: true, HeadOpen: true}},
	{name: "corrupt RAM", reply: hs("030,0,0,1245,000,0,0,0,000,1,0,0", "001,0,0,0,1,2,6,0,00000000,1,000", "1234,0"),
		want: Status{State: StateError, CorruptRAM: true}},
	{name: "noise around frames", reply: "junk" + hs("030,0,0,1245,000,0,0,0,000,0,0,0", "001,0,0,0,1,2,6,0,00000000,1,000", "1234,0") + "tail",
		want: Status{State: StateReady}},

	{name: "two lines", reply: "\x02030,0,0,1245,000,0,0,0,000,0,0,0\x03\r\n\x02001,0,0,0,1,2,6,0,00000000,1,000\x03\r\n", err: "want 3 STX/ETX lines, got 2"},
	{name: "empty", reply: "", err: "got 0"},
	{name: "short line 1", reply: hs("030,0,0,1245,000,0,0,0,000,0,0", "001,0,0,0,1,2,6,0,00000000,1,000", "1234,0"), err: "line 1: want 12 fields, got 11"},
	{name: "bad flag", reply: hs("030,2,0,1245,000,0,0,0,000,0,0,0", "001,0,0,0,1,2,6,0,00000000,1,000", "1234,0"), err: "line 1 field 2 (paper out): \"2\" is not 0 or 1"},
	{name: "bad number", reply: hs("030,0,0,12x5,000,0,0,0,000,0,0,0", "001,0,0,0,1,2,6,0,00000000,1,000", "1234,0"), err: "field 4 (label length)"},
	{name: "labels remaining too long", reply: hs("030,0,0,1245,000,0,0,0,000,0,0,0", "001,0,0,0,1,2,6,0,000000001,1,000", "1234,0"), err: "field 9 (labels remaining)"},
	{name: "empty formats", reply: hs("030,0,0,1245,,0,0,0,000,0,0,0", "001,0,0,0,1,2,6,0,00000000,1,000", "1234,0"), err: "field 5 (formats in buffer)"},
	{name: "bad password", reply: hs("030,0,0,1245,000,0,0,0,000,0,0,0", "001,0,0,0,1,2,6,0,00000000,1,000", "12,0"), err: "password"},
	{name: "line 3 fields", reply: hs("030,0,0,1245,000,0,0,0,000,0,0,0", "001,0,0,0,1,2,6,0,00000000,1,000", "1234"), err: "line 3: want 2 fields"},
}

func TestParseHostStatus(t *testing.T) {
	for _, tc := range hsCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseHostStatus([]byte(tc.reply))
			if tc.err != "" {
				if err == nil || !errors.Is(err, ErrMalformedStatus) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want ErrMalformedStatus containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			w := tc.want
			if got.State != w.State {
				t.Errorf("State = %q, want %q (reason %q)", got.State, w.State, got.Reason)
			}
			if !got.Known {
				t.Error("Known = false")
			}
			checks := []struct {
				name      string
				got, want any
			}{
				{"PaperOut", got.PaperOut, w.PaperOut}, {"Paused", got.Paused, w.Paused},
				{"HeadOpen", got.HeadOpen, w.HeadOpen}, {"RibbonOut", got.RibbonOut, w.RibbonOut},
				{"BufferFull", got.BufferFull, w.BufferFull}, {"OverTemp", got.OverTemp, w.OverTemp},
				{"UnderTemp", got.UnderTemp, w.UnderTemp}, {"CorruptRAM", got.CorruptRAM, w.CorruptRAM},
				{"PartialFormat", got.PartialFormat, w.PartialFormat},
				{"FormatsInBuffer", got.FormatsInBuffer, w.FormatsInBuffer},
				{"LabelsRemaining", got.LabelsRemaining, w.LabelsRemaining},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
				}
			}
			if w.LabelLength != 0 && got.LabelLength != w.LabelLength {
				t.Errorf("LabelLength = %d, want %d", got.LabelLength, w.LabelLength)
			}
			if w.GraphicsStored != 0 && got.GraphicsStored != w.GraphicsStored {
				t.Errorf("GraphicsStored = %d, want %d", got.GraphicsStored, w.GraphicsStored)
			}
			if w.Password != "" && got.Password != w.Password {
				t.Errorf("Password = %q, want %q", got.Password, w.Password)
			}
			if w.StaticRAM != got.StaticRAM && w.State == StatePrinting && w.StaticRAM {
				t.Errorf("StaticRAM = %v, want true", got.StaticRAM)
			}
			if w.PrintMode != 0 && (got.PrintMode != w.PrintMode || got.WidthMode != w.WidthMode || !got.ThermalTransfer) {
				t.Errorf("print mode %d width %d TT %v, want %d %d true", got.PrintMode, got.WidthMode, got.ThermalTransfer, w.PrintMode, w.WidthMode)
			}
			if w.State.Blocking() && got.Reason == "" {
				t.Error("blocking state without a reason")
			}
			// Round trip through the formatter the emulator uses.
			again, err := ParseHostStatus(FormatHostStatus(got))
			if err != nil {
				t.Fatalf("reparse: %v", err)
			}
			if again != got {
				t.Errorf("round trip:\n got %+v\nwant %+v", again, got)
			}
		})
	}
}

func FuzzParseHostStatus(f *testing.F) {
	for _, tc := range hsCases {
		f.Add([]byte(tc.reply))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseHostStatus(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedStatus) {
				t.Fatalf("error does not wrap ErrMalformedStatus: %v", err)
			}
			return
		}
		if s.State == "" || !s.Known {
			t.Fatalf("valid parse without state: %+v", s)
		}
		again, err := ParseHostStatus(FormatHostStatus(s))
		if err != nil {
			t.Fatalf("reparse of formatted status: %v", err)
		}
		if again.State != s.State || again.FormatsInBuffer != s.FormatsInBuffer || again.LabelsRemaining != s.LabelsRemaining {
			t.Fatalf("round trip changed status: %+v vs %+v", again, s)
		}
	})
}

var hqesCases = []struct {
	name       string
	reply      string
	errs, warn uint64
	err        string
}{
	{name: "clean", reply: string(FormatExtendedStatus(0, 0))},
	{name: "media out", reply: string(FormatExtendedStatus(ErrFlagMediaOut, 0)), errs: ErrFlagMediaOut},
	{name: "head open, paper near end", reply: string(FormatExtendedStatus(ErrFlagHeadOpen, WarnFlagPaperNearEnd)), errs: ErrFlagHeadOpen, warn: WarnFlagPaperNearEnd},
	{name: "zebra layout", reply: "\x02\r\n  PRINTER STATUS                            \r\n   ERRORS:         1 00000000 00000005      \r\n   WARNINGS:       0 00000000 00000000      \r\n\x03\r\n",
		errs: ErrFlagMediaOut | ErrFlagHeadOpen},
	{name: "no warnings", reply: "\x02\r\n PRINTER STATUS\r\n ERRORS: 1 00000000 00000001\r\n\x03", err: "missing"},
	{name: "bad hex", reply: "\x02 ERRORS: 1 00000000 0000000G\r\n WARNINGS: 0 00000000 00000000\x03", err: "not 8 hex digits"},
	{name: "short group", reply: "\x02 ERRORS: 1 00000001\r\n WARNINGS: 0 00000000 00000000\x03", err: "want 3 groups"},
}

func TestParseExtendedStatus(t *testing.T) {
	for _, tc := range hqesCases {
		t.Run(tc.name, func(t *testing.T) {
			e, w, err := ParseExtendedStatus([]byte(tc.reply))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrMalformedStatus) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e != tc.errs || w != tc.warn {
				t.Fatalf("flags = %08x/%08x, want %08x/%08x", e, w, tc.errs, tc.warn)
			}
		})
	}
	s := Status{State: StateNoReply}.WithExtended(ErrFlagMediaOut, 0)
	if s.State != StatePaperOut || !strings.Contains(s.Reason, "paper out") {
		t.Fatalf("WithExtended(media out) = %q %q", s.State, s.Reason)
	}
}

func FuzzParseExtendedStatus(f *testing.F) {
	for _, tc := range hqesCases {
		f.Add([]byte(tc.reply))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, w, err := ParseExtendedStatus(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedStatus) {
				t.Fatalf("error does not wrap ErrMalformedStatus: %v", err)
			}
			return
		}
		if e > 0xffffffff || w > 0xffffffff {
			t.Fatalf("flags wider than 8 hex digits: %x %x", e, w)
		}
	})
}

func TestSplitFrames(t *testing.T) {
	frames, rest := SplitFrames([]byte("x\x02one\x03\r\n\x02two\x03\x02thr"))
	if len(frames) != 2 || string(frames[0]) != "one" || string(frames[1]) != "two" || string(rest) != "\x02thr" {
		t.Fatalf("frames %q rest %q", frames, rest)
	}
}
