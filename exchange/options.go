package exchange

import (
	"errors"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Defaults for the zero [Options].
const (
	// DefaultSkew is subtracted from every entry's lifetime.
	DefaultSkew = 30 * time.Second
	// DefaultRefreshAhead is the fraction of an entry's life after which a
	// hit starts a background refresh.
	DefaultRefreshAhead = 0.75
	// DefaultRefreshJitter is the largest fraction of an entry's life by
	// which its refresh is brought forward at random, so that entries
	// created together do not refresh together.
	DefaultRefreshJitter = 0.05
	// DefaultNegativeTTL is how long a permanent refusal is remembered.
	DefaultNegativeTTL = 5 * time.Second
	// DefaultFlightTimeout bounds one exchange with the authority.
	DefaultFlightTimeout = 10 * time.Second
	// DefaultNegativeMaxEntries bounds the refusals remembered.
	DefaultNegativeMaxEntries = 10_000
	// DefaultMaxInFlight bounds the exchanges with the authority in
	// progress at once.
	DefaultMaxInFlight = 128
)

// refreshRetry is the least time between two refresh attempts of one entry
// after a refresh did not succeed.
const refreshRetry = 5 * time.Second

// refreshClaimsMax bounds the keys whose refresh attempt is remembered
// (for refreshRetry each). Forgetting one early costs at most one more
// attempt, which joins a running flight or tries for a free slot.
const refreshClaimsMax = 10_000

// Options configures an [Exchanger]. The zero value is valid: every field
// documents its default.
type Options struct {
	// Cache stores issued tokens. If nil, a new [MemoryCache] with
	// MaxEntries, MaxBytes and Now is used, and closed by
	// [Exchanger.Close]; a Cache set here is not closed by the Exchanger.
	// Its errors are taken for misses and counted in [Stats.CacheErrors]
	// (see [Cache]).
	Cache Cache
	// Shared is the second tier, shared by a fleet of replicas (as
	// exchange/rediscache's Cache on Redis is); nil for none. Cache stays
	// in front of it: a hit there never reaches Shared. Only a flight
	// (after a miss in Cache, one per key and replica) reads Shared and
	// stores what it finds in Cache for no longer than the entry lives;
	// every exchange stores its token in both tiers. When Shared is also
	// a [Coordinator], a flight that misses in both tiers takes the
	// fleet-wide lock of its key, so that one replica exchanges and the
	// others wait for its token (SharedWait); refreshes are fleet-wide
	// too, and invalidations reach every replica (see the package
	// documentation, "Running several replicas"). Every error of Shared is
	// a miss, counted in [Stats.SharedErrors], never a failed request. The
	// Exchanger does not close it.
	Shared Cache
	// SharedWait bounds how long a flight that lost the fleet-wide lock of
	// its key waits for the token the lock's holder exchanges, before it
	// exchanges itself. Default [DefaultSharedWait], never more than
	// FlightTimeout. Used only when Shared is a [Coordinator].
	SharedWait time.Duration
	// MaxEntries bounds the entries of the default cache. Default
	// [DefaultMaxEntries]. Ignored when Cache is set.
	MaxEntries int
	// MaxBytes bounds the estimated size of the default cache. Default
	// [DefaultMaxBytes]. Ignored when Cache is set.
	MaxBytes int64
	// Skew is subtracted from every entry's lifetime, so that a token is
	// not used in its last moments. Default [DefaultSkew]; negative means
	// none.
	//
	// The issued token's end, and the subject token's JWT "exp", are each
	// brought forward by min(Skew, life/4), life being what is left of
	// that token when the issued token arrives, so that a token living
	// less than about 4*Skew is still cached for three quarters of what is
	// left of it; the entry ends at the earlier of the two. A subject
	// token whose "exp" has passed is refused with [ErrSubjectExpired]
	// without asking the authority.
	Skew time.Duration
	// RefreshAhead is the fraction of an entry's life (between 0 and 1)
	// after which a hit returns the cached token and starts one background
	// exchange. Default [DefaultRefreshAhead]; negative disables
	// refresh-ahead.
	RefreshAhead float64
	// RefreshJitter brings each entry's refresh forward by a random part of
	// its life, at most this fraction. Default [DefaultRefreshJitter];
	// negative means none.
	RefreshJitter float64
	// NegativeTTL is how long a permanent refusal by the authority is
	// remembered for its key, so that a revoked or bad token does not
	// hammer the authority. Temporary failures are never remembered.
	// Default [DefaultNegativeTTL]; negative disables the negative cache.
	NegativeTTL time.Duration
	// FlightTimeout bounds one shared exchange with the authority, and
	// separately its wait for a free slot (MaxInFlight): the exchange gets
	// the whole FlightTimeout once it has its slot. Both run independently
	// of the contexts of the callers waiting for it, on a context of their
	// own that only [Exchanger.Close] cancels: no caller's context values
	// reach the authority's HTTP client. Default [DefaultFlightTimeout].
	FlightTimeout time.Duration
	// MaxInFlight bounds the exchanges with the authority in progress at
	// once, refreshes included. A flight for a new key waits for a free
	// slot for at most FlightTimeout, and only while one of its callers
	// still waits for it (each returns as soon as its own context ends).
	// At most 4*MaxInFlight flights wait for a slot: beyond that a new one
	// fails at once with [ErrBusy]. A background refresh never waits: with
	// no free slot it is skipped and tried again by a hit after a few
	// seconds, the cached token being served meanwhile. Default
	// [DefaultMaxInFlight].
	MaxInFlight int
	// Now is the clock. If nil, time.Now.
	//
	// It must be the same clock as the Now of the [authority.Config] the
	// Exchanger's client was made with: [authority.Token.Expiry] is
	// computed from the client's clock and compared with this one.
	Now func() time.Time
	// MeterProvider receives the Exchanger's metrics (see the package
	// documentation, "Telemetry"). If nil, otel.GetMeterProvider(), a
	// no-op until the application installs one. It is resolved by New;
	// Close unregisters the Exchanger's callback.
	MeterProvider metric.MeterProvider
	// TracerProvider receives a root span for each exchange with the
	// authority (linked to the spans of the callers waiting for it, or to
	// the hit that started a refresh) and a span for each caller that
	// waits for an exchange; never one for a hit. If nil,
	// otel.GetTracerProvider(), a no-op until the application installs
	// one.
	TracerProvider trace.TracerProvider
	// Logger receives what happens in the background, never with a token
	// or a subject: failed refreshes (Warn), refreshes that succeed again
	// (Info), the start of ErrBusy rejections (Warn); at most one record
	// of a kind per minute of Now. If nil, slog.Default().
	Logger *slog.Logger
}

// withDefaults validates o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	switch {
	case o.Skew == 0:
		o.Skew = DefaultSkew
	case o.Skew < 0:
		o.Skew = 0
	}
	switch {
	case o.RefreshAhead == 0:
		o.RefreshAhead = DefaultRefreshAhead
	case o.RefreshAhead < 0:
		o.RefreshAhead = 0
	case o.RefreshAhead >= 1:
		return o, errors.New("exchange: Options.RefreshAhead must be below 1")
	}
	switch {
	case o.RefreshJitter == 0:
		o.RefreshJitter = DefaultRefreshJitter
	case o.RefreshJitter < 0:
		o.RefreshJitter = 0
	case o.RefreshJitter >= 1:
		return o, errors.New("exchange: Options.RefreshJitter must be below 1")
	}
	switch {
	case o.NegativeTTL == 0:
		o.NegativeTTL = DefaultNegativeTTL
	case o.NegativeTTL < 0:
		o.NegativeTTL = 0
	}
	if o.FlightTimeout <= 0 {
		o.FlightTimeout = DefaultFlightTimeout
	}
	if o.SharedWait <= 0 {
		o.SharedWait = DefaultSharedWait
	}
	o.SharedWait = min(o.SharedWait, o.FlightTimeout)
	switch {
	case o.MaxInFlight == 0:
		o.MaxInFlight = DefaultMaxInFlight
	case o.MaxInFlight < 0:
		return o, errors.New("exchange: Options.MaxInFlight must not be negative")
	}
	if o.MaxEntries < 0 || o.MaxBytes < 0 {
		return o, errors.New("exchange: Options.MaxEntries and MaxBytes must not be negative")
	}
	return o, nil
}
