package main

import (
	"slices"
	"testing"
	"time"
)

// TestAPILimits: [api]'s limits default when unset, keep what the file
// says, and the host list holds the listen host and the host names.
func TestAPILimits(t *testing.T) {
	cfg, err := loadConfig(writeConfig(t, minimalTOML), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.finish(flagValues{dataDir: t.TempDir()}, envMap(nil), noHome, host); err != nil {
		t.Fatal(err)
	}
	a := cfg.API
	if a.MaxConnections != 128 || a.MaxStreams != 16 || a.MaxBody != 1<<20 || a.MaxHeaderBytes != 64<<10 ||
		a.ReadTimeout.Std() != time.Minute || a.WriteTimeout.Std() != 30*time.Second || a.IdleTimeout.Std() != 2*time.Minute {
		t.Fatalf("defaults: %+v", a)
	}

	cfg, err = loadConfig(writeConfig(t, minimalTOML+"[api]\nlisten = \"bench-7.lan:8080\"\nhosts = [\"packing.example.com\"]\nmax_connections = 40\nmax_streams = 4\nmax_body = 4096\nwrite_timeout = \"5s\"\n"), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.finish(flagValues{dataDir: t.TempDir()}, envMap(nil), noHome, host); err != nil {
		t.Fatal(err)
	}
	a = cfg.API
	if a.MaxConnections != 40 || a.MaxStreams != 4 || a.MaxBody != 4096 || a.WriteTimeout.Std() != 5*time.Second || a.IdleTimeout.Std() != 2*time.Minute {
		t.Fatalf("from the file: %+v", a)
	}
	hosts := apiHosts(a, func() (string, error) { return "bench-7.hall.example", nil })
	for _, want := range []string{"packing.example.com", "bench-7.lan", "bench-7.hall.example", "bench-7.hall.example.local", "bench-7", "bench-7.local"} {
		if !slices.Contains(hosts, want) {
			t.Errorf("hosts %q lack %q", hosts, want)
		}
	}
}
