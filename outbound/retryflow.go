package outbound

import (
	"context"
	"errors"
	"log/slog"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// via names what carried a refused token, for the logs: a request the
// Transport sent (refused with a 401) or a [Destination]'s call.
type via uint8

const (
	viaRequest via = iota // an HTTP request RoundTrip sent
	viaCall               // a call of a Destination (gRPC)
)

// words returns request or call, the wording of a log message for v.
func (v via) words(request, call string) string {
	if v == viaCall {
		return call
	}
	return request
}

// retryFlow is the one retry after a destination refused a token, under
// the refusal windows: [Transport.beginRetry] starts it and gets the fresh
// token; the caller sends again with it (after resending), reports the
// destination's verdict (or abandon when there is none) and calls release
// when it is done, on every path.
type retryFlow struct {
	t     *Transport
	r     *route
	v     via
	g     *refusals // nil: no refusal windows for this retry
	key   [32]byte
	st    *refusal // the retry in progress
	owner bool     // this caller started st: it releases it
}

// beginRetry starts the retry after the destination refused sent, the
// token a request or call made with ctx for subject carried. fresh is the
// token to send again with. When fresh and err are nil the refusal must
// reach the caller as it is: a refusal window is open (here or in the
// shared memory; the refusal is counted and logged as passed on), the
// token source has no other token, or ctx ended while waiting for another
// retry's verdict. err is the cause when the fresh token cannot be had;
// the caller makes it a TokenError.
func (t *Transport) beginRetry(ctx context.Context, r *route, v via, subject authority.SubjectToken, sent *authority.Token) (f retryFlow, fresh *authority.Token, err error) {
	f = retryFlow{t: t, r: r, v: v}
	f.g, f.key = t.refusalGuard(ctx, r, subject)
	for f.g != nil {
		verdict, s, done := f.g.begin(f.key, sent.AccessToken)
		if verdict == passOn {
			t.passOn(ctx, r, v, f.key, false)
			return f, nil, nil
		}
		if verdict != wait {
			f.st, f.owner = s, verdict == retryOwner
			break
		}
		select {
		case <-done:
		case <-ctx.Done():
			return f, nil, nil
		}
	}
	if f.owner && t.sharedWindow(ctx, r, v, f.key, f.st) {
		return f, nil, nil
	}
	tok, err := r.fresh(ctx, subject, sent)
	if errors.Is(err, errSameToken) {
		if f.g == nil {
			t.logAttrs(ctx, slog.LevelWarn, v.words("outbound: 401 not retried: no fresh token", "outbound: refused call not retried: no fresh token"),
				slog.String("route", r.label), slog.Any("error", err))
			return f, nil, nil
		}
		t.passOn(ctx, r, v, f.key, f.g.refuse(f.key))
		return f, nil, nil
	}
	if err != nil {
		f.abandon()
		return f, nil, err
	}
	if f.g != nil && f.g.freshToken(f.key, f.st, tok.AccessToken) {
		t.passOn(ctx, r, v, f.key, false)
		return f, nil, nil
	}
	return f, tok, nil
}

// resending counts and logs the sending again with the fresh token.
func (f *retryFlow) resending(ctx context.Context) {
	t := f.t
	t.logAttrs(ctx, slog.LevelDebug, f.v.words("outbound: 401: resending once with a fresh token", "outbound: refused call: sending it again once with a fresh token"),
		slog.String("route", f.r.label))
	t.stats.retries.Add(1)
	t.countRetry(ctx, f.r, retryResent)
}

// verdict records the destination's answer to the fresh token: refused
// opens a refusal window, otherwise the retry is forgotten.
func (f *retryFlow) verdict(ctx context.Context, refused bool) {
	switch {
	case f.g == nil:
	case refused:
		if f.g.refuse(f.key) {
			f.t.windowOpened(ctx, f.r, f.v, f.key)
		}
	default:
		f.g.end(f.key, f.st)
	}
}

// abandon forgets the retry in progress this caller started, when it ends
// without the destination's verdict on the fresh token.
func (f *retryFlow) abandon() {
	if f.owner {
		f.g.end(f.key, f.st)
	}
}

// release ends the retry in progress this caller started and wakes those
// waiting for it.
func (f *retryFlow) release() {
	if f.owner {
		f.g.release(f.st)
	}
}

// refusalGuard returns the Transport's refusal windows and r's refusal
// key for subject; g is nil when the Transport keeps no windows or the key
// cannot be had.
func (t *Transport) refusalGuard(ctx context.Context, r *route, subject authority.SubjectToken) (g *refusals, key [32]byte) {
	if t.refusals == nil {
		return nil, key
	}
	key, ok := r.refusalKey(ctx, subject)
	if !ok {
		return nil, key
	}
	return t.refusals, key
}

// sharedWindow reports whether the shared refusal memory holds a window
// for key that another transport opened (nothing is known here: st is the
// retry in progress this caller just started). Then st becomes that window
// here and the refusal is counted as passed on.
func (t *Transport) sharedWindow(ctx context.Context, r *route, v via, key [32]byte, st *refusal) bool {
	if t.shared == nil {
		return false
	}
	ttl := t.recall(ctx, key)
	if ttl <= 0 {
		return false
	}
	t.refusals.adopt(key, st, ttl)
	t.stats.sharedWindows.Add(1)
	if v == viaRequest {
		t.logAttrs(ctx, slog.LevelDebug, "outbound: 401 passed on: another transport's refusal window is open (shared refusal memory)", slog.String("route", r.label))
	}
	t.passOn(ctx, r, v, key, false)
	return true
}

// passOn counts a refusal passed to the caller without a new token or a
// resend because a refusal window is open for r and the subject (whose
// refusal key is key); opened reports that this refusal opened it.
func (t *Transport) passOn(ctx context.Context, r *route, v via, key [32]byte, opened bool) {
	t.stats.passedOn.Add(1)
	t.countRetry(ctx, r, retryPassedOn)
	if opened {
		t.windowOpened(ctx, r, v, key)
		return
	}
	t.logAttrs(ctx, slog.LevelDebug, v.words("outbound: 401 passed on: the downstream refused a fresh token in the refusal window", "outbound: refused call passed on: the destination refused a fresh token in the refusal window"),
		slog.String("route", r.label))
}

// windowOpened counts and logs, once per window, route and subject, a
// refusal window opened for key: the destination refused a fresh token.
// With a shared memory, it remembers the window there.
func (t *Transport) windowOpened(ctx context.Context, r *route, v via, key [32]byte) {
	if t.shared != nil {
		t.remember(ctx, key, t.refusals.window)
	}
	t.stats.freshRefused.Add(1)
	t.countWindow(ctx, r)
	t.logAttrs(ctx, slog.LevelWarn, v.words(
		"outbound: the downstream refused a fresh token (or the token source had no other); its 401s for this route and subject are passed on without a new token for the refusal window (is the route's Target right for it?)",
		"outbound: the destination refused a fresh token (or the token source had no other); its refusals for this route and subject are passed on without a new token for the refusal window (is the route's Target right for it?)"),
		slog.String("route", r.label), slog.Duration("window", t.refusals.window))
}
