package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRaw9100Config: [raw9100] is off by default (the embedded default
// too), PACKBENCH_RAW9100_LISTEN turns it on over the file, the example's
// commented section is made of real keys, and bad settings stop the daemon
// naming the key.
func TestRaw9100Config(t *testing.T) {
	cfg, err := loadConfig("", envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.finish(flagValues{dataDir: t.TempDir()}, envMap(nil), noHome, host); err != nil {
		t.Fatal(err)
	}
	if cfg.Raw9100.Listen != "" {
		t.Fatalf("embedded default listens on raw 9100 at %q: want off", cfg.Raw9100.Listen)
	}

	env := envMap(map[string]string{"PACKBENCH_RAW9100_LISTEN": "0.0.0.0:9100"})
	cfg, err = loadConfig(writeConfig(t, minimalTOML+"[raw9100]\nlisten = \"127.0.0.1:9101\"\nprinter = \"p\"\nidle_timeout = \"5s\"\n"), env)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.finish(flagValues{dataDir: t.TempDir()}, env, noHome, host); err != nil {
		t.Fatal(err)
	}
	if r := cfg.Raw9100; r.Listen != "0.0.0.0:9100" || r.Printer != "p" || r.IdleTimeout.Std() != 5*time.Second ||
		r.MaxConnections != 16 || r.MaxFormat != 4<<20 || r.MaxBytes != 64<<20 {
		t.Fatalf("[raw9100] = %+v: want the variable's listen over the file's, printer p, idle 5s, default limits", r)
	}

	example, err := os.ReadFile("packbench.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(example), "\n# [raw9100]\n")
	if !ok {
		t.Fatal("packbench.example.toml has no commented [raw9100] section")
	}
	section, _, _ = strings.Cut(section, "\n\n")
	doc := minimalTOML + "[raw9100]\n"
	for _, k := range regexp.MustCompile(`(?m)^# ([a-z_]+ = .*)$`).FindAllStringSubmatch(section, -1) {
		doc += k[1] + "\n"
	}
	doc = strings.Replace(doc, `printer = "zebra"`, `printer = "p"`, 1)
	cfg, err = loadConfig(writeConfig(t, doc), envMap(nil))
	if err == nil {
		err = cfg.finish(flagValues{dataDir: t.TempDir()}, envMap(nil), noHome, host)
	}
	if err != nil || cfg.Raw9100.MaxConnections != 16 || cfg.Raw9100.MaxFormat != 4<<20 || cfg.Raw9100.IdleTimeout.Std() != 30*time.Second {
		t.Fatalf("uncommented [raw9100] example: %+v %v\n%s", cfg.Raw9100, err, doc)
	}

	for _, tc := range []struct{ name, toml, want string }{
		{"bad listen", "[raw9100]\nlisten = \"9100\"\n", `raw9100.listen "9100"`},
		{"unknown printer", "[raw9100]\nlisten = \"0.0.0.0:9100\"\nprinter = \"nope\"\n", `raw9100.printer "nope"`},
		{"format over a job's limit", "[raw9100]\nlisten = \"0.0.0.0:9100\"\nmax_format = 8388608\n", "raw9100.max_format: at most 4194304"},
		{"negative limit", "[raw9100]\nlisten = \"0.0.0.0:9100\"\nmax_bytes = -1\n", "raw9100: limits must be positive"},
		{"limits without listen", "[raw9100]\nmax_connections = 4\n", "no listen address"},
		{"unknown key", "[raw9100]\nport = 9100\n", "unknown key raw9100.port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadConfig(writeConfig(t, minimalTOML+tc.toml), envMap(nil))
			if err == nil {
				err = cfg.finish(flagValues{dataDir: t.TempDir()}, envMap(nil), noHome, host)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
