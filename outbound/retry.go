package outbound

import (
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
	f, tok, err := t.beginRetry(ctx, r, viaRequest, subject, sent)
	defer f.release()
	if err != nil {
		discard(resp)
		t.logAttrs(ctx, slog.LevelDebug, "outbound: 401 not retried: no fresh token; the 401 is replaced by the error", slog.String("route", r.label))
		return nil, t.tokenError(ctx, r, req, err) // req.Body went with the first send
	}
	if tok == nil {
		return resp, nil
	}
	out := withToken(req, r.bearer(tok, tok.AccessToken))
	if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
		if out.Body, err = req.GetBody(); err != nil {
			f.abandon()
			t.countRetry(ctx, r, retryNoBody)
			t.logAttrs(ctx, slog.LevelWarn, "outbound: 401 not retried: GetBody failed", slog.String("route", r.label), slog.Any("error", err))
			return resp, nil
		}
	}
	discard(resp)
	f.resending(ctx)
	again, err := t.baseRT().RoundTrip(out)
	if err != nil {
		f.abandon()
	} else {
		f.verdict(ctx, again.StatusCode == http.StatusUnauthorized)
	}
	return again, err
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
