package authority

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Grant obtains a fresh token for a [TokenSource] without a refresh token.
// [ClientCredentialsRequest] and [PasswordRequest] are Grants.
type Grant interface {
	RequestToken(ctx context.Context, c *Client) (*Token, error)
}

// RequestToken performs the client credentials grant.
func (r ClientCredentialsRequest) RequestToken(ctx context.Context, c *Client) (*Token, error) {
	return c.ClientCredentials(ctx, r)
}

// RequestToken performs the password grant.
func (r PasswordRequest) RequestToken(ctx context.Context, c *Client) (*Token, error) {
	return c.Password(ctx, r)
}

// TokenSourceOptions configures a [TokenSource]. The zero value is valid.
type TokenSourceOptions struct {
	// Skew is how long before expiry the token is renewed. Within that
	// window callers still get the current token while one renewal runs in
	// the background. Default 30 seconds.
	Skew time.Duration
	// RenewTimeout bounds one renewal, which runs detached from the
	// caller's cancellation so that one impatient caller does not fail it
	// for the others. Default 30 seconds.
	RenewTimeout time.Duration
	// Now is the clock. If nil, the Client's clock.
	Now func() time.Time
}

// Defaults for TokenSourceOptions.
const (
	defaultSkew         = 30 * time.Second
	defaultRenewTimeout = 30 * time.Second
)

// TokenSource keeps the service's own token from a [Grant]: cached,
// requested once however many goroutines ask at the same moment, and
// renewed Skew before expiry, with the refresh token when there is one and
// by a fresh grant when there is none or the server answers invalid_grant
// (for example because the session behind the refresh token was removed).
//
// A TokenSource is safe for concurrent use. Create it with [NewTokenSource].
type TokenSource struct {
	client       *Client
	grant        Grant
	skew         time.Duration
	renewTimeout time.Duration
	now          func() time.Time
	flight       singleflight.Group // one renewal at a time

	mu      sync.Mutex // guards tok and refused
	tok     *Token
	refused bool // tok's access token was refused downstream; its refresh token is still usable
}

// NewTokenSource returns a TokenSource that obtains tokens from c with g.
// It makes no request until the first call to Token.
func NewTokenSource(c *Client, g Grant, opts TokenSourceOptions) *TokenSource {
	if c == nil || g == nil {
		panic("authority: NewTokenSource needs a Client and a Grant")
	}
	s := &TokenSource{
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
	return s
}

// Token returns a valid token. It returns the cached token while that is
// more than Skew from expiry; within Skew it returns the cached token and
// starts one background renewal; once the token has expired or was
// invalidated, callers wait for one renewal, each until its own ctx ends.
//
// The returned Token is shared: do not modify it.
func (s *TokenSource) Token(ctx context.Context) (*Token, error) {
	now := s.now()
	s.mu.Lock()
	tok, refused := s.tok, s.refused
	s.mu.Unlock()
	if tok != nil && !refused && !tok.Expired(now) {
		if tok.ExpiresWithin(now, s.skew) {
			s.startRenewal(ctx) // refresh ahead; nobody waits
		}
		return tok, nil
	}
	select {
	case res := <-s.startRenewal(ctx):
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*Token), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("authority: waiting for token: %w", ctx.Err())
	}
}

// Invalidate drops tok, a token a downstream service refused with 401, so
// that the next call to Token renews it. It does nothing when the source
// has already moved on to another token. A nil tok drops whatever is
// cached.
func (s *TokenSource) Invalidate(tok *Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && (tok == nil || tok.AccessToken == s.tok.AccessToken) {
		s.refused = true
	}
}

// startRenewal joins the renewal in flight or starts one. The renewal keeps
// ctx's values but not its cancellation, and has its own timeout.
func (s *TokenSource) startRenewal(ctx context.Context) <-chan singleflight.Result {
	detached := context.WithoutCancel(ctx)
	return s.flight.DoChan("renew", func() (any, error) {
		ctx, cancel := context.WithTimeout(detached, s.renewTimeout)
		defer cancel()
		return s.renew(ctx)
	})
}

func (s *TokenSource) renew(ctx context.Context) (*Token, error) {
	s.mu.Lock()
	cur, refused := s.tok, s.refused
	s.mu.Unlock()
	if cur != nil && !refused && !cur.ExpiresWithin(s.now(), s.skew) {
		// A renewal that finished just before this one started already
		// did the work.
		return cur, nil
	}

	var (
		tok *Token
		err error
	)
	if cur != nil && cur.RefreshToken != "" {
		tok, err = s.client.Refresh(ctx, RefreshRequest{RefreshToken: cur.RefreshToken})
		if errors.Is(err, ErrInvalidGrant) {
			// The refresh token is dead (expired, revoked, session
			// removed): start over with the grant.
			tok, err = s.grant.RequestToken(ctx, s.client)
		}
	} else {
		tok, err = s.grant.RequestToken(ctx, s.client)
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.tok, s.refused = tok, false
	s.mu.Unlock()
	return tok, nil
}
