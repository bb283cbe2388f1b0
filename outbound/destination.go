package outbound

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// Destination is one route of a [Transport] for calls that the Transport
// does not send itself, such as the gRPC calls of package
// outbound/grpccreds. It gives a call the token its route calls for, as
// RoundTrip gives a request, and runs the one retry after the
// destination refused a token (HTTP 401, gRPC Unauthenticated) under the
// Transport's refusal windows ([Options.RefusalWindow],
// [Options.RefusalMemory]). Its errors, counters ([Transport.Stats]) and
// metrics are the Transport's, under the route's name. It is safe for
// concurrent use.
type Destination struct {
	t *Transport
	r *route
}

// Destination returns the Destination of t's route whose [Route.URL] is
// routeURL, as configured (compared exactly). The URL names the
// destination in refusal keys, errors, logs and metrics: for a gRPC
// server, "https://host:port" (or "http://..." for a plaintext
// connection). Its error names routeURL when no route has it.
func (t *Transport) Destination(routeURL string) (*Destination, error) {
	for _, rs := range t.routes {
		for _, r := range rs {
			if r.name == routeURL {
				return &Destination{t: t, r: r}, nil
			}
		}
	}
	return nil, fmt.Errorf("outbound: no route with URL %q", routeURL)
}

// Mode returns the route's mode.
func (d *Destination) Mode() Mode { return d.r.mode }

// Token returns the token for a call made with ctx: on a [ModeExchange]
// route the subject token of ctx ([middleware.SubjectFromContext])
// exchanged for the route's Target, on a [ModeOwnToken] route the
// service's own token, on a [ModePassThrough] route the subject token
// itself; nil on a [ModeNone] route. Errors are [*TokenError] values, as
// RoundTrip's: [ErrNoSubjectToken] (an anonymous caller),
// [ErrNoInboundContext] (a context that did not come from an inbound
// request) or the exchanger's or token source's error. [StatusFor] maps
// them.
func (d *Destination) Token(ctx context.Context) (*authority.Token, error) {
	t, r := d.t, d.r
	if r.mode == ModeNone {
		return nil, nil
	}
	subject, hasSubject := middleware.SubjectFromContext(ctx)
	if r.mode != ModeOwnToken && !hasSubject {
		return nil, d.noSubject(ctx)
	}
	if r.mode == ModePassThrough {
		return &authority.Token{AccessToken: subject.Value(), TokenType: "Bearer"}, nil
	}
	tok, err := r.token(ctx, subject)
	if err != nil {
		return nil, t.tokenError(ctx, r, nil, err)
	}
	return tok, nil
}

// Authorization returns the Authorization value for tok, a token Token
// returned: "Bearer " and the access token, made once per token for a
// token served from the cache again and again. A pass-through route's
// token is new on every call: its value is made for the call, as
// RoundTrip makes it, and not kept as the route's last.
func (d *Destination) Authorization(tok *authority.Token) string {
	if d.r.mode == ModePassThrough {
		return d.r.bearer(nil, tok.AccessToken)
	}
	return d.r.bearer(tok, tok.AccessToken)
}

// Retry handles the refusal of a call sent with sent, a token Token
// returned for ctx, as RoundTrip handles a 401: it gets a fresh token
// (dropping sent from the exchanger's cache or the token source) and calls
// resend with it, once; resend sends the call again and reports whether
// the destination refused the fresh token too, which opens a refusal
// window for the route and subject. It returns resent false, without
// calling resend, when the refusal must reach the caller as it is: a
// refusal window is open (here, or in the shared [RefusalMemory]), the
// token source has no other token, ctx has ended, or the route's mode
// does not retry ([ModePassThrough], [ModeNone]). When the fresh token
// cannot be had, err is the [*TokenError] naming why.
func (d *Destination) Retry(ctx context.Context, sent *authority.Token, resend func(fresh *authority.Token) (refused bool)) (resent bool, err error) {
	t, r := d.t, d.r
	if (r.mode != ModeExchange && r.mode != ModeOwnToken) || sent == nil || ctx.Err() != nil {
		return false, nil
	}
	subject, _ := middleware.SubjectFromContext(ctx)
	f, tok, err := t.beginRetry(ctx, r, viaCall, subject, sent)
	defer f.release()
	if err != nil {
		return false, t.tokenError(ctx, r, nil, err)
	}
	if tok == nil {
		return false, nil
	}
	f.resending(ctx)
	f.verdict(ctx, resend(tok))
	return true, nil
}

// Invalidate handles the refusal (HTTP 401, gRPC Unauthenticated) of a
// call that is not sent again, such as a gRPC stream, whose messages
// cannot be replayed: sent, a token Token returned for ctx, is dropped
// from the exchanger's cache (or the token source, when it is an
// [authority.Invalidator]) so that the next call gets a fresh token,
// under the refusal windows Retry keeps. Once a token got after such a
// drop is refused too within the window ([Options.RefusalWindow]), a
// refusal window opens for the route and subject (shared through
// [Options.RefusalMemory], and counted as Retry counts one): until it
// ends, refusals are passed on and no token is dropped, so a destination
// that refuses every token costs at most one exchange more per window.
// Nothing is dropped when a window is open (here or in the shared
// memory), when ctx has ended, or on a route whose mode does not retry
// ([ModePassThrough], [ModeNone]). Invalidate gets no token: the next
// call does. A token refused after a drop whose fresh token had been
// accepted, within the same window, opens the window too: Invalidate
// does not learn of acceptances.
func (d *Destination) Invalidate(ctx context.Context, sent *authority.Token) {
	t, r := d.t, d.r
	if (r.mode != ModeExchange && r.mode != ModeOwnToken) || sent == nil || ctx.Err() != nil {
		return
	}
	subject, _ := middleware.SubjectFromContext(ctx)
	g, key := t.refusalGuard(ctx, r, subject)
	for g != nil {
		v, opened, st, done := g.unsent(key, sent.AccessToken)
		switch v {
		case passOn:
			t.passOn(ctx, r, viaCall, key, opened)
			return
		case wait:
			select {
			case <-done:
				continue
			case <-ctx.Done():
				return
			}
		case retryOwner:
			defer g.release(st)
			if t.sharedWindow(ctx, r, viaCall, key, st) {
				return
			}
		}
		break
	}
	t.logAttrs(ctx, slog.LevelDebug, "outbound: refused call not sent again: its token dropped, the next call gets a fresh one", slog.String("route", r.label))
	r.drop(ctx, subject, sent)
}

// noSubject is the TokenError of a call on a route that needs the caller's
// token when ctx has none: [ErrNoSubjectToken] for an inbound context (an
// anonymous caller), otherwise [ErrNoInboundContext], logged at Error.
func (d *Destination) noSubject(ctx context.Context) error {
	t, r := d.t, d.r
	if middleware.IsInbound(ctx) {
		return t.tokenError(ctx, r, nil, ErrNoSubjectToken)
	}
	t.countError(ctx, r, reasonNoInboundContext)
	t.logAttrs(ctx, slog.LevelError, "outbound: the call's context does not come from an inbound request (make the call with the handler's context); call refused",
		slog.String("route", r.label))
	return &TokenError{Route: r.name, Mode: r.mode, Actor: r.actor, Err: ErrNoInboundContext}
}

// SameHost reports whether uri, an absolute "https" or "http" URL such as
// the audience gRPC passes to per-RPC credentials ("https://", the
// connection's authority, the service's path), names the host and port
// of the destination's route, compared as the Transport compares a Host
// header with a request's URL: the host ignoring ASCII case, a missing
// port being uri's scheme's default (gRPC leaves ":443" out of the
// authority). The schemes are not compared: gRPC writes "https" for
// plaintext connections too. A uri with user info, without a host, with
// an IPv6 address outside brackets, or that is not such a URL reports
// false. It does not allocate.
func (d *Destination) SameHost(uri string) bool {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return false
	}
	var port string
	switch {
	case asciiEqualFold(scheme, "https"):
		port = "443"
	case asciiEqualFold(scheme, "http"):
		port = "80"
	default:
		return false
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	if strings.IndexByte(authority, '@') >= 0 {
		return false
	}
	host, p := splitHostPort(authority)
	if strings.IndexByte(host, ':') >= 0 && !strings.HasPrefix(authority, "[") {
		return false // an IPv6 address without brackets: which colon ends it?
	}
	if p != "" {
		port = p
	}
	o := d.r.origin
	return host != "" && port == o.port && asciiEqualFold(host, o.host)
}
