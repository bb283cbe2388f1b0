package introspect

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/internal/claimcheck"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// Validator validates opaque (or any) bearer tokens by RFC 7662
// introspection at the authorization server, caching the answers by the
// token's SHA-256; it implements [middleware.Validator]. Create one with
// [New]; it is safe for concurrent use. It starts one goroutine per
// introspection in flight (at most [Config.MaxInFlight]), which
// [Validator.Close] ends; no other (its caches' maintenance runs on the
// goroutine of the request that calls for it).
type Validator struct {
	client      *authority.Client
	issuer      string
	audiences   []string
	hint        string
	leeway      time.Duration
	maxAge      time.Duration
	refusalAge  time.Duration
	timeout     time.Duration
	maxInFlight int64
	check       func(context.Context, *middleware.Claims) error
	now         func() time.Time
	caches      *caches
	tel         *telemetry

	closing context.Context // canceled by Close: ends the flights
	stop    context.CancelFunc
	wg      sync.WaitGroup // the flights' goroutines

	mu      sync.Mutex // guards flights and closed
	flights map[digest]*flight
	closed  bool

	counts    counters
	lastError atomic.Pointer[middleware.Error] // nil once an introspection answered

	onJoin func() // tests: called when a caller joins a flight; nil otherwise
}

var _ middleware.Validator = (*Validator)(nil)

// counters are the Validator's atomic counters, which observable
// instruments read at collection: a request costs an atomic add.
type counters struct {
	hits, refusalHits, misses, coalesced, busy atomic.Int64
	inFlight                                   atomic.Int64
	outcomes                                   [numOutcomes]atomic.Int64
}

// New returns a Validator for cfg. It finds the introspection endpoint
// under ctx (running the Client's discovery if it has not run), so that a
// misconfiguration is reported at startup.
//
// Its errors, for the operator: no Client; no issuer (neither
// Config.Issuer nor the Client's); an empty Audience entry; a negative
// MaxAge, Timeout, MaxEntries, MaxBytes, InactiveMaxEntries or
// MaxInFlight; MaxBytes/MaxEntries over 2 GiB; and the Client's
// [authority.Client.IntrospectionEndpoint] error
// ([authority.ErrNoIntrospectionEndpoint], or its discovery failure).
func New(ctx context.Context, cfg Config) (*Validator, error) {
	if cfg.Client == nil {
		return nil, errors.New("introspect: Config.Client is required")
	}
	issuer := cmp.Or(cfg.Issuer, cfg.Client.Issuer())
	if issuer == "" {
		return nil, errors.New("introspect: Config.Issuer is required when the Client has no Issuer")
	}
	if slices.Contains(cfg.Audience, "") {
		return nil, errors.New("introspect: Config.Audience must not contain empty values")
	}
	if cfg.MaxAge < 0 || cfg.Timeout < 0 || cfg.MaxEntries < 0 || cfg.MaxBytes < 0 || cfg.InactiveMaxEntries < 0 || cfg.MaxInFlight < 0 {
		return nil, errors.New("introspect: Config.MaxAge, Timeout, MaxEntries, MaxBytes, InactiveMaxEntries and MaxInFlight must not be negative")
	}
	if _, err := cfg.Client.IntrospectionEndpoint(ctx); err != nil {
		return nil, err
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	v := &Validator{
		client:      cfg.Client,
		issuer:      issuer,
		audiences:   slices.Clone(cfg.Audience),
		hint:        cmp.Or(cfg.TokenTypeHint, authority.TokenTypeHintAccessToken),
		leeway:      max(cmp.Or(cfg.Leeway, DefaultLeeway), 0),
		maxAge:      cmp.Or(cfg.MaxAge, DefaultMaxAge),
		refusalAge:  cmp.Or(cfg.InactiveMaxAge, DefaultInactiveMaxAge),
		timeout:     cmp.Or(cfg.Timeout, DefaultTimeout),
		maxInFlight: int64(cmp.Or(cfg.MaxInFlight, DefaultMaxInFlight)),
		check:       cfg.CheckClaims,
		now:         now,
		flights:     make(map[digest]*flight),
	}
	if v.hint == "-" {
		v.hint = ""
	}
	refusalEntries := cmp.Or(cfg.InactiveMaxEntries, DefaultInactiveMaxEntries)
	if v.refusalAge < 0 {
		refusalEntries = 0
	}
	cs, err := newCaches(cmp.Or(cfg.MaxEntries, DefaultMaxEntries), cmp.Or(cfg.MaxBytes, DefaultMaxBytes), refusalEntries, now)
	if err != nil {
		return nil, err
	}
	v.caches = cs
	v.closing, v.stop = context.WithCancel(context.Background())
	v.tel = newTelemetry(cfg, v)
	return v, nil
}

// Validate answers token from the cache, or introspects it: at most one
// introspection per token at a time, however many requests carry it.
// A cached active answer is re-checked against the clock ("exp", "nbf",
// "iat") and CheckClaims runs on every request.
//
// Errors, each a [*middleware.Error]: 401 invalid_token wrapping
// [ErrInactive], or a sentinel of package middleware for claims the
// checks refuse (ErrMissingClaim, ErrInvalidIssuer, ErrInvalidAudience,
// ErrExpired, ErrNotYetValid, ErrInvalidClaim, ErrMalformedToken,
// ErrRejected, and ErrInvalidType for an answer about a refresh or ID
// token, see [Config.TokenTypeHint]); 503 wrapping [ErrIntrospectionUnavailable] when the
// introspection failed or ctx ended while waiting for it, or [ErrBusy].
// No error holds the token.
func (v *Validator) Validate(ctx context.Context, token authority.SubjectToken) (*middleware.Claims, error) {
	if token.IsZero() {
		return nil, tokenError(middleware.ErrMalformedToken, "no token")
	}
	d := token.Digest()
	now := v.now()
	if e := v.caches.getActive(d); e != nil && e.fresh(now) {
		v.counts.hits.Add(1)
		if err := claimcheck.Policy(ctx, v.check, e.claims); err != nil {
			return nil, err
		}
		return e.claims, nil
	}
	if refusal := v.caches.getRefusal(d, now); refusal != nil {
		v.counts.refusalHits.Add(1)
		return nil, refusal
	}
	claims, err := v.await(ctx, d, token)
	if err != nil {
		return nil, err
	}
	if err := claimcheck.Policy(ctx, v.check, claims); err != nil {
		return nil, err
	}
	return claims, nil
}

// Ready reports whether the last introspection could be made: nil before
// the first one and after one that the endpoint answered (active or not),
// the error of the last one otherwise (wrapping
// [ErrIntrospectionUnavailable]), for a readiness probe.
func (v *Validator) Ready() error {
	if e := v.lastError.Load(); e != nil {
		return e
	}
	return nil
}

// Close ends the introspections in flight (their callers get a 503) and
// waits for their goroutines, empties the caches and stops the
// telemetry. No goroutine of the Validator's outlives it. Validate afterwards answers 503 unless a cached answer
// remains (none does). Close is safe for concurrent use and may be called
// more than once.
func (v *Validator) Close() {
	v.mu.Lock()
	v.closed = true
	v.mu.Unlock()
	v.stop()
	v.wg.Wait()
	v.tel.stop()
	v.caches.close()
}
