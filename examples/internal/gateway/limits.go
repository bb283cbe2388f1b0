package gateway

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of the limits of the gateway's own server (see [Config]).
const (
	// DefaultIdleTimeout is longer than the idle timeout of common load
	// balancers (60s), which must close an idle connection before the
	// gateway does, and equal to the idle timeout of Go's own clients.
	DefaultIdleTimeout = 90 * time.Second
	// DefaultReadTimeout lets a client on a slow link send a request of
	// a few megabytes; raise it for large uploads.
	DefaultReadTimeout = 60 * time.Second
	// DefaultMaxConns keeps the gateway well inside a file descriptor
	// limit of 16k or more: each inbound connection may hold a
	// downstream connection too, and the downstream idle pools keep up
	// to 1024 more. Raise it together with the limit (ulimit -n).
	DefaultMaxConns = 4096
	// DefaultShutdownTimeout is the time requests in flight get to
	// finish once the gateway is told to stop; it is below the 30s after
	// which Kubernetes kills a pod.
	DefaultShutdownTimeout = 10 * time.Second
	// DefaultDownstreamTimeout is the usual proxy timeout (nginx's
	// proxy_read_timeout); raise it for downstreams that compute long
	// before they answer.
	DefaultDownstreamTimeout = 60 * time.Second
)

// errNotPositive and errNegative are the refusals of a limit's value.
var (
	errNotPositive = errors.New("must be positive")
	errNegative    = errors.New("must not be negative")
)

// checkServerLimits refuses negative limits; zero means the default.
func (c Config) checkServerLimits() error {
	for _, d := range []struct {
		flag string
		v    time.Duration
		err  error
	}{
		{"idle-timeout", c.IdleTimeout, errNotPositive},
		{"read-timeout", c.ReadTimeout, errNotPositive},
		{"write-timeout", c.WriteTimeout, errNegative},
		{"shutdown-timeout", c.ShutdownTimeout, errNotPositive},
		{"downstream-timeout", c.DownstreamTimeout, errNotPositive},
	} {
		if d.v < 0 {
			return fmt.Errorf("-%s: %w", d.flag, d.err)
		}
	}
	if c.MaxConns < 0 {
		return fmt.Errorf("-max-conns: %w", errNotPositive)
	}
	return nil
}

// withDefaults returns c with the zero limits set to their defaults.
func (c Config) withDefaults() Config {
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.DownstreamTimeout == 0 {
		c.DownstreamTimeout = DefaultDownstreamTimeout
	}
	return c
}
