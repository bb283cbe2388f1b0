package testutil

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// maxResourceBody bounds the request body a ResourceServer records.
const maxResourceBody = 1 << 20

// Received is one request seen by a [ResourceServer].
type Received struct {
	// Method, Path (URL path) and Host of the request.
	Method, Path, Host string
	// Authorized reports whether the bearer token was accepted.
	Authorized bool
	// Token is the raw bearer value, "" if none.
	Token string
	// Subject (sub), ClientID (client_id), Scope and Audience (aud) are
	// the token's claims, set when its signature verified, even if its aud
	// was then refused.
	Subject, ClientID, Scope string
	Audience                 []string
	// Act is the actor chain, outermost first: act.sub, act.act.sub, ...
	Act []string
	// Body is the request body, at most 1 MiB.
	Body []byte
	// Err says why the request was refused, "" when authorized.
	Err string
}

// ResourceServer is a downstream API that accepts only bearer tokens
// its [Authority] issued (JWTs signed by its keys, or opaque tokens of
// [Authority.IssueOpaqueToken] and [Client.OpaqueTokens] clients), not
// revoked, unexpired per the authority's clock, whose aud contains
// Audience. Create one with [NewResourceServer]. It is safe for
// concurrent use.
type ResourceServer struct {
	// URL is the base URL of the server, with no trailing slash.
	URL string
	// Audience is the aud value a token must carry.
	Audience string

	a   *Authority
	srv *httptest.Server

	mu       sync.Mutex // guards received and failNext
	received []Received
	failNext []int // statuses to answer before checking tokens, FIFO
}

// NewResourceServer starts a resource server for audience, trusting a's
// keys (checked in-process; the JWKS is not fetched). If tb is not nil,
// tb.Cleanup closes it.
//
// Authorized requests get 200 and the JSON body
// {"audience", "sub", "act": [...], "scope", "path"}. Requests without a
// valid token get 401 with WWW-Authenticate: Bearer error="invalid_token".
func NewResourceServer(tb testing.TB, a *Authority, audience string) *ResourceServer {
	if tb != nil {
		tb.Helper()
	}
	if a == nil || audience == "" {
		panic("testutil: NewResourceServer needs an Authority and an audience")
	}
	rs := &ResourceServer{Audience: audience, a: a}
	rs.srv = httptest.NewServer(http.HandlerFunc(rs.serve))
	rs.URL = rs.srv.URL
	if tb != nil {
		tb.Cleanup(rs.Close)
	}
	return rs
}

// Close shuts the server down. It may be called more than once.
func (rs *ResourceServer) Close() { rs.srv.Close() }

// Client returns an HTTP client configured for the server.
func (rs *ResourceServer) Client() *http.Client { return rs.srv.Client() }

// Received returns a copy of the request log, oldest first.
func (rs *ResourceServer) Received() []Received {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	out := make([]Received, len(rs.received))
	for i, r := range rs.received {
		r.Audience = slices.Clone(r.Audience)
		r.Act = slices.Clone(r.Act)
		r.Body = slices.Clone(r.Body)
		out[i] = r
	}
	return out
}

// Reset empties the request log and drops pending FailNext statuses.
func (rs *ResourceServer) Reset() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.received = nil
	rs.failNext = nil
}

// FailNext answers the next n requests with status before any token check;
// they are still recorded, with Authorized false. A 401 carries
// WWW-Authenticate: Bearer error="invalid_token".
func (rs *ResourceServer) FailNext(n int, status int) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for range n {
		rs.failNext = append(rs.failNext, status)
	}
}

func (rs *ResourceServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxResourceBody))
	rec := Received{Method: r.Method, Path: r.URL.Path, Host: r.Host, Body: body}
	token, tokenErr := bearer(r.Header.Values("Authorization"))
	rec.Token = token

	rs.mu.Lock()
	injected := 0
	if len(rs.failNext) > 0 {
		injected, rs.failNext = rs.failNext[0], rs.failNext[1:]
	}
	rs.mu.Unlock()

	status := http.StatusOK
	switch {
	case injected != 0:
		status, rec.Err = injected, "injected failure"
	case tokenErr != "":
		status, rec.Err = http.StatusUnauthorized, tokenErr
	default:
		status, rec.Err = rs.check(token, &rec)
	}
	rec.Authorized = status == http.StatusOK && injected == 0
	rs.mu.Lock()
	rs.received = append(rs.received, rec)
	rs.mu.Unlock()

	if !rec.Authorized {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	act := rec.Act
	if act == nil {
		act = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"audience": rs.Audience,
		"sub":      rec.Subject,
		"act":      act,
		"scope":    rec.Scope,
		"path":     rec.Path,
	})
}

// check verifies token and fills rec with its claims.
func (rs *ResourceServer) check(token string, rec *Received) (int, string) {
	tok, err := rs.a.verifyAny(token)
	if err != nil {
		return http.StatusUnauthorized, err.Error()
	}
	rec.Subject = tok.Subject()
	rec.ClientID = stringClaim(tok, "client_id")
	rec.Scope = stringClaim(tok, "scope")
	rec.Audience = tok.Audience()
	rec.Act = actChain(tok)
	if !slices.Contains(rec.Audience, rs.Audience) {
		return http.StatusUnauthorized, "aud does not contain " + rs.Audience
	}
	return http.StatusOK, ""
}

// bearer extracts the token from exactly one Authorization: Bearer header.
func bearer(values []string) (token, problem string) {
	switch len(values) {
	case 0:
		return "", "no Authorization header"
	case 1:
	default:
		return "", "more than one Authorization header"
	}
	scheme, tok, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", "Authorization is not a Bearer token"
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", "empty bearer token"
	}
	return tok, ""
}
