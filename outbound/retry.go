package outbound

import (
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// maxDrain bounds what is read from a discarded response so that its
// connection can be reused.
const maxDrain = 4 << 10

// retry handles a 401 answer to req sent with sent: it resends req once
// with a fresh token when the body can be replayed. When it cannot, when
// req's context has ended, when a refusal window is open for the route and
// subject (see [Options.RefusalWindow]), when the token source has no
// other token than the refused one, or when GetBody fails, resp is
// returned as it is. When getting a fresh token fails (the authority
// unreachable, or refusing the subject token on re-exchange, or the
// service's own credentials), resp is discarded and the *TokenError
// returned: it names the cause, and [StatusFor] maps it to 503, 401, 403
// or 502 as for a first exchange.
func (t *Transport) retry(req *http.Request, r *route, subject authority.SubjectToken, sent *authority.Token, resp *http.Response) (*http.Response, error) {
	ctx := req.Context()
	if !replayable(req) {
		t.countRetry(ctx, r, retryNoBody)
		t.logAttrs(ctx, slog.LevelDebug, "outbound: 401 not retried: the body cannot be replayed", slog.String("route", r.label))
		return resp, nil
	}
	if ctx.Err() != nil {
		return resp, nil
	}
	g := t.refusals
	var (
		key   [32]byte
		st    *refusal
		owner bool
	)
	if g != nil {
		var ok bool
		if key, ok = r.refusalKey(ctx, subject); !ok {
			g = nil
		}
	}
	for g != nil {
		v, s, done := g.begin(key, sent.AccessToken)
		if v == passOn {
			return t.passOn(req, r, key, false, resp), nil
		}
		if v != wait {
			st, owner = s, v == retryOwner
			break
		}
		select {
		case <-done:
		case <-ctx.Done():
			return resp, nil
		}
	}
	if owner {
		defer g.release(st)
		if t.shared != nil {
			// Nothing known here: another replica may have opened a
			// window for key.
			if ttl := t.recall(ctx, key); ttl > 0 {
				g.adopt(key, st, ttl)
				t.stats.sharedWindows.Add(1)
				t.logAttrs(ctx, slog.LevelDebug, "outbound: 401 passed on: another transport's refusal window is open (shared refusal memory)", slog.String("route", r.label))
				return t.passOn(req, r, key, false, resp), nil
			}
		}
	}
	// end forgets the retry in progress this caller started, when it ends
	// without the downstream's verdict on the fresh token.
	end := func() {
		if owner {
			g.end(key, st)
		}
	}
	tok, err := r.fresh(ctx, subject, sent)
	if errors.Is(err, errSameToken) {
		if g == nil {
			t.logAttrs(ctx, slog.LevelWarn, "outbound: 401 not retried: no fresh token", slog.String("route", r.label), slog.Any("error", err))
			return resp, nil
		}
		return t.passOn(req, r, key, g.refuse(key), resp), nil
	}
	if err != nil {
		end()
		discard(resp)
		t.logAttrs(ctx, slog.LevelDebug, "outbound: 401 not retried: no fresh token; the 401 is replaced by the error", slog.String("route", r.label))
		return nil, t.tokenError(ctx, r, req, err) // req.Body went with the first send
	}
	if g != nil && g.freshToken(key, st, tok.AccessToken) {
		return t.passOn(req, r, key, false, resp), nil
	}
	out := withToken(req, r.bearer(tok, tok.AccessToken))
	if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
		if out.Body, err = req.GetBody(); err != nil {
			end()
			t.countRetry(ctx, r, retryNoBody)
			t.logAttrs(ctx, slog.LevelWarn, "outbound: 401 not retried: GetBody failed", slog.String("route", r.label), slog.Any("error", err))
			return resp, nil
		}
	}
	discard(resp)
	t.logAttrs(ctx, slog.LevelDebug, "outbound: 401: resending once with a fresh token", slog.String("route", r.label))
	t.stats.retries.Add(1)
	t.countRetry(ctx, r, retryResent)
	again, err := t.baseRT().RoundTrip(out)
	switch {
	case g == nil:
	case err != nil:
		end()
	case again.StatusCode == http.StatusUnauthorized:
		if g.refuse(key) {
			t.windowOpened(req, r, key)
		}
	default:
		g.end(key, st)
	}
	return again, err
}

// passOn returns resp, a 401 passed to the caller without a new token or
// a resend because a refusal window is open for r and the request's
// subject (whose refusal key is key); opened reports that this 401 opened
// it.
func (t *Transport) passOn(req *http.Request, r *route, key [32]byte, opened bool, resp *http.Response) *http.Response {
	t.stats.passedOn.Add(1)
	t.countRetry(req.Context(), r, retryPassedOn)
	if opened {
		t.windowOpened(req, r, key)
	} else {
		t.logAttrs(req.Context(), slog.LevelDebug, "outbound: 401 passed on: the downstream refused a fresh token in the refusal window", slog.String("route", r.label))
	}
	return resp
}

// windowOpened counts and logs, once per window, route and subject, a
// refusal window opened for key: the downstream refused a fresh token.
// With a shared memory, it remembers the window there.
func (t *Transport) windowOpened(req *http.Request, r *route, key [32]byte) {
	if t.shared != nil {
		t.remember(req.Context(), key, t.refusals.window)
	}
	t.stats.freshRefused.Add(1)
	t.countWindow(req.Context(), r)
	t.logAttrs(req.Context(), slog.LevelWarn, "outbound: the downstream refused a fresh token (or the token source had no other); its 401s for this route and subject are passed on without a new token for the refusal window (is the route's Target right for it?)",
		slog.String("route", r.label), slog.Duration("window", t.refusals.window))
}

// replayable reports whether req's body can be sent again.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// discard drains (at most maxDrain bytes) and closes resp's body.
func discard(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
	_ = resp.Body.Close()
}
