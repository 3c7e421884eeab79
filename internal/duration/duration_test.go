package duration_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/packbench/packbench/internal/duration"
)

type D = duration.Duration

func TestText(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"300ms", 300 * time.Millisecond, false},
		{"5s", 5 * time.Second, false},
		{"1m30s", 90 * time.Second, false},
		{"0s", 0, false},
		{"0", 0, false},
		{"", 0, true},
		{"5", 0, true},
		{"2 parsecs", 0, true},
		{"-1s", 0, true},
	}
	for _, tt := range tests {
		var d D
		err := d.UnmarshalText([]byte(tt.in))
		if tt.wantErr {
			if !errors.Is(err, duration.ErrInvalid) || !strings.Contains(err.Error(), "invalid duration "+`"`+tt.in+`"`) {
				t.Errorf("%q: err = %v, want one wrapping ErrInvalid and naming the text", tt.in, err)
			}
			continue
		}
		if err != nil || d.Std() != tt.want {
			t.Errorf("%q = %v, %v; want %v", tt.in, d.Std(), err, tt.want)
		}
		out, _ := d.MarshalText()
		var back D
		if err := back.UnmarshalText(out); err != nil || back != d {
			t.Errorf("%q: round trip through %q gave %v, %v", tt.in, out, back, err)
		}
	}
}

// The type sits in TOML and JSON configs as a string.
func TestInConfigFiles(t *testing.T) {
	var c struct {
		Timeout D `toml:"timeout" json:"timeout"`
	}
	if err := toml.Unmarshal([]byte(`timeout = "250ms"`), &c); err != nil || c.Timeout.Std() != 250*time.Millisecond {
		t.Fatalf("toml: %v, %v", c.Timeout, err)
	}
	b, err := json.Marshal(c)
	if err != nil || string(b) != `{"timeout":"250ms"}` {
		t.Fatalf("json: %s, %v", b, err)
	}
	if err := json.Unmarshal([]byte(`{"timeout":"soon"}`), &c); !errors.Is(err, duration.ErrInvalid) {
		t.Fatalf("json bad value: %v", err)
	}
}

// TestUnitsListed: the error lists exactly the units Parse accepts.
func TestUnitsListed(t *testing.T) {
	_, err := duration.Parse("5 fortnights")
	if err == nil {
		t.Fatal("accepted")
	}
	_, list, ok := strings.Cut(err.Error(), "with units ")
	if !ok {
		t.Fatalf("%v lists no units", err)
	}
	var units []string
	for _, p := range strings.Split(list, ", ") {
		units = append(units, strings.Split(p, " or ")...)
	}
	for _, u := range units {
		if _, err := duration.Parse("2" + u); err != nil {
			t.Errorf("listed unit %q refused: %v", u, err)
		}
	}
	// Every other spelling of a unit is refused.
	for _, u := range []string{"d", "w", "y", "sec", "min", "hr", "H", "S", "MS", "Ms", "ns ", "msec"} {
		if _, err := duration.Parse("2" + u); err == nil {
			t.Errorf("unit %q accepted but not listed", u)
		}
	}
	if len(units) != 8 {
		t.Errorf("listed %q, want the 8 units time.ParseDuration reads", units)
	}
}
