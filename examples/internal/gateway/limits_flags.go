package gateway

import (
	"errors"
	"flag"
	"strconv"
	"time"
)

// defineLimitFlags defines the flags that bound the gateway's own server,
// storing into cfg with their defaults.
func defineLimitFlags(fs *flag.FlagSet, cfg *Config) {
	cfg.IdleTimeout, cfg.ReadTimeout = DefaultIdleTimeout, DefaultReadTimeout
	cfg.MaxConns, cfg.ShutdownTimeout = DefaultMaxConns, DefaultShutdownTimeout
	cfg.DownstreamTimeout = DefaultDownstreamTimeout
	fs.Var((*positiveDuration)(&cfg.IdleTimeout), "idle-timeout", "close a keep-alive connection once idle for this `duration` (keep it longer than the idle timeout of a load balancer in front)")
	fs.Var((*positiveDuration)(&cfg.ReadTimeout), "read-timeout", "bound the reading of a whole request, body included, to this `duration`: a body sent too slowly is cut (raise it for large uploads)")
	fs.Var((*optionalDuration)(&cfg.WriteTimeout), "write-timeout", "bound the writing of a response to this `duration` from the end of the request's headers; 0 (the default) means no bound, for downstreams that stream")
	fs.Var((*positiveInt)(&cfg.MaxConns), "max-conns", "serve at most `n` connections at once; more wait in the kernel's accept queue until one closes (keep it well below ulimit -n: a request may hold a downstream connection too)")
	fs.Var((*positiveDuration)(&cfg.DownstreamTimeout), "downstream-timeout", "wait at most this `duration` for a downstream's response headers, then answer 502 (a streaming body may take longer); raise it for downstreams that compute long")
	fs.Var((*positiveDuration)(&cfg.ShutdownTimeout), "shutdown-timeout", "on SIGINT or SIGTERM, give requests in flight this `duration` to finish, then cut them")
}

// The refusals of a limit flag's text.
var (
	errDuration = errors.New("want a duration such as 90s, 2m or 1h")
	errCount    = errors.New("want a whole number")
)

// positiveDuration is a duration flag that must be above zero.
type positiveDuration time.Duration

// String implements flag.Value.
func (d *positiveDuration) String() string { return time.Duration(*d).String() }

// Set implements flag.Value.
func (d *positiveDuration) Set(v string) error {
	x, err := time.ParseDuration(v)
	if err != nil {
		return errDuration
	}
	if x <= 0 {
		return errNotPositive
	}
	*d = positiveDuration(x)
	return nil
}

// optionalDuration is a duration flag where zero means none.
type optionalDuration time.Duration

// String implements flag.Value.
func (d *optionalDuration) String() string { return time.Duration(*d).String() }

// Set implements flag.Value.
func (d *optionalDuration) Set(v string) error {
	x, err := time.ParseDuration(v)
	if err != nil {
		return errDuration
	}
	if x < 0 {
		return errNegative
	}
	*d = optionalDuration(x)
	return nil
}

// positiveInt is an integer flag that must be above zero.
type positiveInt int

// String implements flag.Value.
func (n *positiveInt) String() string { return strconv.Itoa(int(*n)) }

// Set implements flag.Value.
func (n *positiveInt) Set(v string) error {
	x, err := strconv.Atoi(v)
	if err != nil {
		return errCount
	}
	if x <= 0 {
		return errNotPositive
	}
	*n = positiveInt(x)
	return nil
}
