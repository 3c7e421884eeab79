package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// goPrefix is text an operator must never read: an operation chain or a
// sentinel of a Go package ("station: scan: ...", "png: png: ...").
var goPrefix = regexp.MustCompile(`\b(station|queue|labelrender|scale|device|api|uplink|png|bolt): `)

// runMain runs the CLI as main does: the message and the exit code.
func runMain(t *testing.T, stdin string, args ...string) (out, errOut string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	std := &stdio{in: strings.NewReader(stdin), out: &o, err: &e, log: slog.New(slog.DiscardHandler)}
	code = exitCode(dispatch(context.Background(), std, args), &e)
	return o.String(), e.String(), code
}

// Every subcommand (and the jobs subcommands) answers -h with exit 0, its
// description paragraph and its usage, on stdout.
func TestHelpEverySubcommand(t *testing.T) {
	for _, c := range commands() {
		for _, h := range []string{"-h", "--help"} {
			out, errOut, code := runMain(t, "", c.name, h)
			if code != 0 || !strings.Contains(out, c.about) || !strings.Contains(out, "usage: packbench "+c.name) {
				t.Errorf("%s %s: exit %d\nstdout:\n%s\nstderr:\n%s", c.name, h, code, out, errOut)
			}
			if c.about == "" || !strings.HasSuffix(strings.TrimSpace(c.about), ".") {
				t.Errorf("%s: description %q is not a paragraph", c.name, c.about)
			}
		}
	}
	for _, sub := range []string{"list", "show", "retry", "cancel", "mark-printed"} {
		if out, errOut, code := runMain(t, "", "jobs", sub, "-h"); code != 0 || !strings.Contains(out, "packbench jobs") {
			t.Errorf("jobs %s -h: exit %d\n%s%s", sub, code, out, errOut)
		}
	}
	if out, _, code := runMain(t, "", "help"); code != 0 || !strings.Contains(out, "commands:") {
		t.Errorf("help: exit %d\n%s", code, out)
	}
}

// A usage error exits 2 and says what was wrong, not only the usage.
func TestUsageErrorsSayWhy(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no command given"},
		{[]string{"nope"}, `unknown command "nope"`},
		{[]string{"jobs"}, "give a command: list, show"},
		{[]string{"jobs", "frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"scan", "--url", "http://127.0.0.1:1"}, "give a code to scan"},
		{[]string{"stock", "--url", "http://127.0.0.1:1", "--key", strings.Repeat("k", 32), "set", "BOX"}, `"set" with 1 argument(s)`},
		{[]string{"watch", "--url", "mqtt://127.0.0.1:1"}, "--bench ID is required"},
		{[]string{"push", "--url", "mqtt://127.0.0.1:1", "--bench", "b1"}, "want one FILE"},
		{[]string{"render", "--nope"}, "flag provided but not defined: -nope"},
	} {
		_, errOut, code := runMain(t, "", tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, want 2 saying %q:\n%s", tc.args, code, tc.want, errOut)
		}
	}
}

// A file that is not a PNG: the operator reads what to check, not the
// decoder's chain ("labelrender: bad graphic: png: png: invalid format").
func TestRenderBadPNGPlainWords(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "label.png")
	if err := os.WriteFile(bad, []byte("GIF89a not a png"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runMain(t, "", "render", "--from-png", bad, "-o", filepath.Join(t.TempDir(), "out.zpl"))
	if code != 1 || !strings.Contains(errOut, "is not a label image the bench can read: want a png file") || goPrefix.MatchString(errOut) {
		t.Errorf("exit %d: %s", code, errOut)
	}
}
