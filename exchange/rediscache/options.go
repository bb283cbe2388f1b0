package rediscache

import (
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"
	"go.opentelemetry.io/otel/metric"
)

// Defaults of [Options].
const (
	DefaultNamespace          = "tokenexchange:"
	DefaultOpTimeout          = 50 * time.Millisecond
	DefaultBreakerThreshold   = 5
	DefaultBreakerCooldown    = 5 * time.Second
	DefaultBreakerMaxCooldown = time.Minute
)

// Options configures a [Cache]. Exactly one of Client and URL is set.
//
// Keys and the URL's password are secrets: an Options prints neither
// (String, GoString and every fmt verb give a redacted description).
type Options struct {
	// Client is the Redis client to use. The Cache does not close it: its
	// owner does. A client made with client-side caching, auto pipelining
	// or any other option of rueidis works.
	Client rueidis.Client
	// URL is where Redis is, when the Cache makes its own client (and
	// closes it on [Cache.Close]): redis://[user:password@]host:port/db,
	// or rediss:// for TLS, as [rueidis.ParseURL] reads it. The Cache
	// starts even when Redis does not answer yet; its calls fail (as
	// misses) until it does.
	URL string
	// Keys are the AES-256 keys, each exactly 32 bytes: the first
	// encrypts new values, any of them decrypts. A value names its key by
	// the first 8 bytes of the key's SHA-256, so the order of the older
	// keys does not matter. New copies them.
	Keys [][]byte
	// Namespace prefixes every Redis key the Cache uses (DefaultNamespace
	// when empty). Caches of different deployments sharing a Redis
	// database need different namespaces.
	Namespace string
	// OpTimeout bounds every Redis call (DefaultOpTimeout when zero). A
	// call also ends with its context.
	OpTimeout time.Duration
	// BreakerThreshold is the number of consecutive failed calls (time
	// outs, connection errors) that opens the circuit breaker
	// (DefaultBreakerThreshold when zero).
	BreakerThreshold int
	// BreakerCooldown is how long the breaker stays open before it lets
	// one trial call through (DefaultBreakerCooldown when zero); it
	// doubles with each failed trial, up to BreakerMaxCooldown
	// (DefaultBreakerMaxCooldown when zero), and is reset by a successful
	// one.
	BreakerCooldown    time.Duration
	BreakerMaxCooldown time.Duration
	// MeterProvider creates the Cache's instruments (see the package
	// doc); the global provider when nil.
	MeterProvider metric.MeterProvider
	// Logger receives the breaker's records (opening at Warn, recovery at
	// Info), at most one of a kind a minute; slog.Default() when nil.
	Logger *slog.Logger
	// Now is the clock for entry expiry and the breaker's cool-down
	// (time.Now when nil). The time limit of a Redis call (OpTimeout) is
	// always on the real clock.
	Now func() time.Time
}

// String returns a description of o that holds neither a key nor a
// password.
func (o Options) String() string {
	var b strings.Builder
	b.WriteString("rediscache.Options{")
	switch {
	case o.Client != nil && o.URL != "":
		b.WriteString("Client:set URL:" + redactURL(o.URL))
	case o.Client != nil:
		b.WriteString("Client:set")
	default:
		b.WriteString("URL:" + redactURL(o.URL))
	}
	fmt.Fprintf(&b, " Keys:[%d redacted] Namespace:%q OpTimeout:%v BreakerThreshold:%d BreakerCooldown:%v BreakerMaxCooldown:%v}",
		len(o.Keys), o.Namespace, o.OpTimeout, o.BreakerThreshold, o.BreakerCooldown, o.BreakerMaxCooldown)
	return b.String()
}

// GoString is String, so that %#v prints no secret either.
func (o Options) GoString() string { return o.String() }

// Format prints String for every verb, so that no fmt verb prints a key
// or the URL's password.
func (o Options) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(o.String())) }

// redactURL returns the URL with its password replaced by "xxxxx", or a
// placeholder when it cannot be parsed (its text may hold a password).
func redactURL(s string) string {
	if s == "" {
		return `""`
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable, redacted)"
	}
	return strconv.Quote(u.Redacted())
}
