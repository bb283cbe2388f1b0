package gateway

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestParseFlagsServerLimits checks the flags and variables that bound the
// gateway's own server: their defaults, the flags, the variables, and a
// flag winning over its variable.
func TestParseFlagsServerLimits(t *testing.T) {
	type limits struct {
		idle, read, write, shutdown time.Duration
		maxConns                    int
	}
	defaults := limits{DefaultIdleTimeout, DefaultReadTimeout, 0, DefaultShutdownTimeout, DefaultMaxConns}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want limits
	}{
		{name: "defaults", want: defaults},
		{
			name: "flags",
			args: []string{"-idle-timeout", "2m", "-read-timeout", "45s", "-write-timeout", "5m", "-max-conns", "100", "-shutdown-timeout", "25s"},
			want: limits{2 * time.Minute, 45 * time.Second, 5 * time.Minute, 25 * time.Second, 100},
		},
		{
			name: "environment",
			env:  map[string]string{"TX_IDLE_TIMEOUT": "30s", "TX_READ_TIMEOUT": "1m", "TX_WRITE_TIMEOUT": "90s", "TX_MAX_CONNS": "2000", "TX_SHUTDOWN_TIMEOUT": "1s"},
			want: limits{30 * time.Second, time.Minute, 90 * time.Second, time.Second, 2000},
		},
		{
			name: "flag over variable",
			args: []string{"-max-conns", "7", "-write-timeout", "0"},
			env:  map[string]string{"TX_MAX_CONNS": "2000", "TX_WRITE_TIMEOUT": "90s"},
			want: limits{DefaultIdleTimeout, DefaultReadTimeout, 0, DefaultShutdownTimeout, 7},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseFlags("gw", tc.args, envOf(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			got := limits{cfg.IdleTimeout, cfg.ReadTimeout, cfg.WriteTimeout, cfg.ShutdownTimeout, cfg.MaxConns}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestParseFlagsServerLimitErrors checks that a bad limit is a bad flag:
// one line naming the flag or its variable, and exit code 2 from Main.
func TestParseFlagsServerLimitErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{args: []string{"-idle-timeout", "0"}, want: "-idle-timeout: must be positive"},
		{args: []string{"-idle-timeout", "-1s"}, want: "-idle-timeout: must be positive"},
		{args: []string{"-idle-timeout", "90"}, want: `invalid value "90" for flag -idle-timeout`},
		{args: []string{"-read-timeout", "0s"}, want: "-read-timeout: must be positive"},
		{args: []string{"-read-timeout", "soon"}, want: `invalid value "soon" for flag -read-timeout`},
		{args: []string{"-write-timeout", "-5s"}, want: "-write-timeout: must not be negative"},
		{args: []string{"-shutdown-timeout", "0"}, want: "-shutdown-timeout: must be positive"},
		{args: []string{"-max-conns", "0"}, want: "-max-conns: must be positive"},
		{args: []string{"-max-conns", "-3"}, want: "-max-conns: must be positive"},
		{args: []string{"-max-conns", "many"}, want: `invalid value "many" for flag -max-conns`},
		{args: []string{"-downstream-timeout", "0"}, want: "-downstream-timeout: must be positive"},
		{env: map[string]string{"TX_DOWNSTREAM_TIMEOUT": "2"}, want: `TX_DOWNSTREAM_TIMEOUT="2": want a duration`},
		{env: map[string]string{"TX_IDLE_TIMEOUT": "0"}, want: `TX_IDLE_TIMEOUT="0": must be positive`},
		{env: map[string]string{"TX_READ_TIMEOUT": "1"}, want: `TX_READ_TIMEOUT="1": `},
		{env: map[string]string{"TX_WRITE_TIMEOUT": "-1m"}, want: `TX_WRITE_TIMEOUT="-1m": must not be negative`},
		{env: map[string]string{"TX_MAX_CONNS": "0"}, want: `TX_MAX_CONNS="0": must be positive`},
	} {
		_, err := ParseFlags("gw", tc.args, envOf(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseFlags(%q, %v) = %v, want one line with %q", tc.args, tc.env, err, tc.want)
		}
		var stdout, stderr bytes.Buffer
		if code := Main(context.Background(), "gw", tc.args, envOf(tc.env), &stdout, &stderr, nil); code != 2 || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("Main(%q, %v): exit %d, stderr %q; want 2 and one line", tc.args, tc.env, code, stderr.String())
		}
	}
}

// TestConfigValidateServerLimits checks the limits of a Config built in
// code: zero means the default, a negative value is refused.
func TestConfigValidateServerLimits(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{IdleTimeout: -time.Second}, "-idle-timeout: must be positive"},
		{Config{ReadTimeout: -time.Second}, "-read-timeout: must be positive"},
		{Config{WriteTimeout: -time.Second}, "-write-timeout: must not be negative"},
		{Config{ShutdownTimeout: -time.Second}, "-shutdown-timeout: must be positive"},
		{Config{MaxConns: -1}, "-max-conns: must be positive"},
		{Config{DownstreamTimeout: -time.Second}, "-downstream-timeout: must be positive"},
	} {
		if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("zero Config: %v", err)
	}
}

func TestUsageNamesServerLimits(t *testing.T) {
	var b bytes.Buffer
	Usage(&b, "gw")
	for _, want := range []string{"[TX_IDLE_TIMEOUT]", "[TX_READ_TIMEOUT]", "[TX_WRITE_TIMEOUT]", "[TX_MAX_CONNS]", "[TX_SHUTDOWN_TIMEOUT]", "[TX_DOWNSTREAM_TIMEOUT]"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("-help lacks %s", want)
		}
	}
}

func TestParseFlagsDownstreamTimeout(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want time.Duration
	}{
		{want: DefaultDownstreamTimeout},
		{args: []string{"-downstream-timeout", "5m"}, want: 5 * time.Minute},
		{env: map[string]string{"TX_DOWNSTREAM_TIMEOUT": "45s"}, want: 45 * time.Second},
		{args: []string{"-downstream-timeout", "2s"}, env: map[string]string{"TX_DOWNSTREAM_TIMEOUT": "45s"}, want: 2 * time.Second},
	} {
		cfg, err := ParseFlags("gw", tc.args, envOf(tc.env))
		if err != nil || cfg.DownstreamTimeout != tc.want {
			t.Errorf("ParseFlags(%q, %v): %v, %v; want %v", tc.args, tc.env, cfg.DownstreamTimeout, err, tc.want)
		}
	}
}
