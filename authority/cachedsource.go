package authority

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-tokenexchange/tokenexchange/internal/ratelog"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/singleflight"
)

// Grant obtains a fresh token for a [CachedSource] without a refresh token.
// [ClientCredentialsRequest] and [PasswordRequest] are Grants.
type Grant interface {
	// RequestToken obtains a new token from c with this grant.
	RequestToken(ctx context.Context, c *Client) (*Token, error)
}

// RequestToken performs the client credentials grant: it returns what
// [Client.ClientCredentials] returns.
func (r ClientCredentialsRequest) RequestToken(ctx context.Context, c *Client) (*Token, error) {
	return c.ClientCredentials(ctx, r)
}

// RequestToken performs the password grant: it returns what
// [Client.Password] returns.
func (r PasswordRequest) RequestToken(ctx context.Context, c *Client) (*Token, error) {
	return c.Password(ctx, r)
}

// CachedSourceOptions configures a [CachedSource]. The zero value is valid.
// A CachedSource reports its renewals to the Client's MeterProvider,
// TracerProvider and Logger (see "Telemetry" in the package
// documentation).
type CachedSourceOptions struct {
	// Skew is how long before expiry the token is renewed. Within that
	// window callers still get the current token while one renewal runs in
	// the background. Default 30 seconds.
	Skew time.Duration
	// RenewTimeout bounds one renewal, which runs on its own context, not
	// the caller's, so that one impatient caller does not fail it for the
	// others. Default 30 seconds.
	RenewTimeout time.Duration
	// Now is the clock. If nil, the Client's clock.
	Now func() time.Time
}

// Defaults for CachedSourceOptions.
const (
	defaultSkew         = 30 * time.Second
	defaultRenewTimeout = 30 * time.Second
)

// CachedSource keeps the service's own token from a [Grant]: cached,
// requested once however many goroutines ask at the same moment, and
// renewed Skew before expiry, with the refresh token when there is one and
// by a fresh grant when there is none or the server answers invalid_grant
// (for example because the session behind the refresh token was removed).
//
// A CachedSource is safe for concurrent use. Create it with [NewCachedSource].
type CachedSource struct {
	client       *Client
	grant        Grant
	skew         time.Duration
	renewTimeout time.Duration
	now          func() time.Time
	flight       singleflight.Group // one renewal at a time
	log          *ratelog.Limiter   // the Client's Logger, on the source's clock

	mu       sync.Mutex // guards the fields below
	tok      *Token
	renewAt  time.Time // when a caller starts a background renewal of tok
	retryAt  time.Time // no background renewal before this, after a failure
	failures int       // background renewals failed in a row
	refused  bool      // tok's access token was refused downstream; its refresh token is still usable

	// renewEnd, when set (by tests only, before first use), is called
	// after each renewal that asked the authority has updated the fields
	// above (not after one that found the work already done), once a
	// new call would start another renewal rather than join this one.
	renewEnd func(error)
}

// Backoff between failed background renewals: it doubles from
// minRenewBackoff up to a quarter of the skew (at least minRenewBackoff),
// or what the server's Retry-After asks.
const minRenewBackoff = time.Second

// NewCachedSource returns a TokenSource that obtains tokens from c with g.
// It makes no request until the first call to Token. It panics when c or
// g is nil, a programming error.
func NewCachedSource(c *Client, g Grant, opts CachedSourceOptions) *CachedSource {
	if c == nil || g == nil {
		panic("authority: NewCachedSource needs a Client and a Grant")
	}
	s := &CachedSource{
		client:       c,
		grant:        g,
		skew:         opts.Skew,
		renewTimeout: opts.RenewTimeout,
		now:          opts.Now,
	}
	if s.skew <= 0 {
		s.skew = defaultSkew
	}
	if s.renewTimeout <= 0 {
		s.renewTimeout = defaultRenewTimeout
	}
	if s.now == nil {
		s.now = c.now
	}
	s.log = ratelog.New(c.tel.logger, logInterval, s.now)
	return s
}

// logInterval is the least time between two log records of one kind from
// a CachedSource.
const logInterval = time.Minute

// errExpiredOnArrival is a renewal whose token, of a positive lifetime, had
// expired by the time its reply was read. It is temporary.
var errExpiredOnArrival = errors.New("authority: the issued token expired before its reply was read")

// Token returns a valid token. It returns the cached token until Skew
// before its expiry (or half its life, for a token that lives less than
// twice Skew); after that it still returns the cached token but starts one
// background renewal, retried with backoff if it fails. Once the token has
// expired or was invalidated, callers wait for one renewal, each until its
// own ctx ends.
//
// A token the server issued with no lifetime ([Token.ZeroLifetime]) goes to
// the callers of the renewal that obtained it and is never returned again;
// it counts as a failed renewal for the backoff, as does a token whose
// lifetime ran out before its reply was read (never returned: its callers
// get an error for which [IsTemporary] is true).
//
// The returned Token is shared: do not modify it.
//
// Errors: what the renewal's grant returned (see [Client.ClientCredentials]:
// an [*Error] for a refusal, a network failure, a discovery failure),
// given to every caller that waited for that renewal; ctx's error,
// wrapped, when ctx ends before the renewal does (the renewal goes on for
// the others); a temporary error when the issued token expired before its
// reply was read; an error when renewals keep returning a token that was
// invalidated.
func (s *CachedSource) Token(ctx context.Context) (*Token, error) {
	now := s.now()
	s.mu.Lock()
	tok, usable := s.tok, s.tok != nil && !s.refused && !s.tok.Expired(now)
	ahead := usable && !now.Before(s.renewAt) && !now.Before(s.retryAt)
	s.mu.Unlock()
	if usable {
		if ahead {
			s.startRenewal(ctx, true) // refresh ahead; nobody waits
		}
		return tok, nil
	}
	// Two rounds at most: a renewal this caller joined may have begun
	// before an Invalidate of the token it then returns.
	for range 2 {
		var res singleflight.Result
		select {
		case res = <-s.startRenewal(ctx, false):
		case <-ctx.Done():
			return nil, fmt.Errorf("authority: waiting for token: %w", ctx.Err())
		}
		if res.Err != nil {
			return nil, res.Err
		}
		tok = res.Val.(*Token)
		if !s.isRefused(tok) {
			return tok, nil
		}
	}
	return nil, errors.New("authority: the token source keeps returning a token that was refused")
}

// Invalidate drops tok, a token a downstream service refused with 401, so
// that the next call to Token renews it. It does nothing when the source
// has already moved on to another token. A nil tok drops whatever is
// cached.
func (s *CachedSource) Invalidate(tok *Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && (tok == nil || tok.AccessToken == s.tok.AccessToken) {
		s.refused = true
	}
}

func (s *CachedSource) isRefused(tok *Token) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused && s.tok == tok
}

// startRenewal joins the renewal in flight or starts one. The renewal is
// shared by every caller, so it runs on its own context with its own
// timeout: neither the cancellation nor the values of the caller that
// happened to start it (a request's trace span, the inbound token stored
// by the middleware) reach the authority's HTTP client. Its span is a
// root linked to the span in ctx, the caller's that started it;
// background says that this caller does not wait for it (refresh ahead).
func (s *CachedSource) startRenewal(ctx context.Context, background bool) <-chan singleflight.Result {
	return s.flight.DoChan("renew", func() (any, error) {
		caller := trace.LinkFromContext(ctx)
		ctx, cancel := context.WithTimeout(context.Background(), s.renewTimeout)
		defer cancel()
		tok, asked, err := s.renew(ctx, caller, background)
		if asked && s.renewEnd != nil {
			// Tests wait for this call, then may start the next
			// renewal: it must not join this one.
			s.flight.Forget("renew")
			s.renewEnd(err)
		}
		return tok, err
	})
}

// renew obtains a new token; asked is false when it returned the current
// one without asking the authority. A renewal that asks has its span,
// linked to caller's, and is counted and logged (see "Telemetry" in the
// package documentation).
func (s *CachedSource) renew(ctx context.Context, caller trace.Link, background bool) (tok *Token, asked bool, err error) {
	now := s.now()
	s.mu.Lock()
	cur := s.tok
	usable := cur != nil && !s.refused && !cur.Expired(now)
	wait := now.Before(s.renewAt) || now.Before(s.retryAt)
	s.mu.Unlock()
	if usable && wait {
		// A renewal that ended just before this one started already did
		// the work, or failed and asked for a pause: the current token
		// is still good.
		return cur, false, nil
	}

	r := s.startRenew(ctx, caller, background)
	ctx = r.ctx
	if cur != nil && cur.RefreshToken != "" {
		r.grant = GrantRefreshToken
		tok, err = s.client.Refresh(ctx, RefreshRequest{RefreshToken: cur.RefreshToken})
		if errors.Is(err, ErrInvalidGrant) {
			// The refresh token is dead (expired, revoked, session
			// removed): start over with the grant.
			r.refreshRefused(err)
			r.grant = grantTypeOf(s.grant)
			tok, err = s.grant.RequestToken(ctx, s.client)
		}
	} else {
		r.grant = grantTypeOf(s.grant)
		tok, err = s.grant.RequestToken(ctx, s.client)
	}
	now = s.now()
	if err == nil && !tok.ZeroLifetime() && tok.Expired(now) {
		// A positive lifetime ran out before the reply was read.
		err = errExpiredOnArrival
	}
	s.mu.Lock()
	r.failuresBefore = s.failures
	switch {
	case err != nil:
		s.failures++
		r.backoff = s.backoff(err)
		s.retryAt = now.Add(r.backoff)
		tok = nil
	case tok.ZeroLifetime():
		// For the callers of this renewal only: never cached, and a
		// failure for the backoff, so that a server that keeps issuing
		// such tokens is not asked again on every call.
		s.failures++
		r.backoff = s.backoff(nil)
		s.retryAt = now.Add(r.backoff)
	default:
		s.tok, s.refused, s.failures, s.retryAt = tok, false, 0, time.Time{}
		s.renewAt = tok.Expiry.Add(-min(s.skew, tok.Expiry.Sub(now)/2))
	}
	s.mu.Unlock()
	r.end(tok, err)
	return tok, true, err
}

// backoff is the wait before the next background renewal after the
// failures-th failure in a row. Callers hold s.mu.
func (s *CachedSource) backoff(err error) time.Duration {
	d := min(minRenewBackoff<<min(s.failures-1, 16), max(s.skew/4, minRenewBackoff))
	var ae *Error
	if errors.As(err, &ae) && ae.RetryAfter > d {
		d = ae.RetryAfter
	}
	return d
}
