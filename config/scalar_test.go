package config

import (
	"errors"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in     string
		want   time.Duration
		noUnit bool
		bad    bool
	}{
		{in: "30s", want: 30 * time.Second},
		{in: "10m", want: 10 * time.Minute},
		{in: "24h", want: 24 * time.Hour},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "7d", want: 7 * 24 * time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "-1d", want: -24 * time.Hour},
		{in: "0", want: 0},
		{in: "30", noUnit: true},
		{in: "-5", noUnit: true},
		{in: "1.5", noUnit: true},
		{in: "", bad: true},
		{in: "d", bad: true},
		{in: "1.5d", bad: true},
		{in: "+-1d", bad: true},
		{in: "1d-1h", bad: true},
		{in: "1dd", bad: true},
		{in: "soon", bad: true},
		{in: "999999999999d", bad: true},
		{in: "106751d24h", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseDuration(tt.in)
			switch {
			case tt.noUnit:
				if !errors.Is(err, errNoUnit) {
					t.Errorf("parseDuration(%q) = %v, %v; want errNoUnit", tt.in, got, err)
				}
			case tt.bad:
				if err == nil || errors.Is(err, errNoUnit) {
					t.Errorf("parseDuration(%q) = %v, %v; want a syntax error", tt.in, got, err)
				}
			case err != nil || got != tt.want:
				t.Errorf("parseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestDurationString(t *testing.T) {
	if got := Duration(90 * time.Second).String(); got != "1m30s" {
		t.Errorf("String() = %q, want 1m30s", got)
	}
}
