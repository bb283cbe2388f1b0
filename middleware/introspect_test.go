package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// introspector is a middleware.Validator of the kind issue 10 asks the
// interface to admit: it asks an RFC 7662 token introspection endpoint
// about every token, authenticating as the resource server (§2.1), and
// reads the answer with middleware.ParseClaims.
type introspector struct {
	endpoint     string
	client       *http.Client
	id, secret   string
	audience     string
	now          func() time.Time
	maxBodyBytes int64
}

var _ middleware.Validator = (*introspector)(nil)

// unavailable is the introspector's error for an endpoint that could not
// answer; it wraps middleware.ErrUnavailable and knows the Retry-After the
// endpoint sent, if any.
type unavailable struct {
	cause error
	after time.Duration
}

func (e *unavailable) Error() string             { return "introspection unavailable: " + e.cause.Error() }
func (e *unavailable) Unwrap() []error           { return []error{middleware.ErrUnavailable, e.cause} }
func (e *unavailable) RetryAfter() time.Duration { return e.after }

func (in *introspector) Validate(ctx context.Context, token authority.SubjectToken) (*middleware.Claims, error) {
	form := url.Values{"token": {token.Value()}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(in.id, in.secret)
	resp, err := in.client.Do(req)
	if err != nil {
		return nil, &unavailable{cause: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, in.maxBodyBytes))
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return nil, &unavailable{cause: fmt.Errorf("HTTP %d", resp.StatusCode), after: time.Duration(secs) * time.Second}
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("introspection: HTTP %d", resp.StatusCode) // our misconfiguration: a generic 401
	case err != nil:
		return nil, &unavailable{cause: err}
	}
	var active struct {
		Active bool `json:"active"`
	}
	if err := json.Unmarshal(body, &active); err != nil {
		return nil, fmt.Errorf("introspection: the answer is not JSON: %w", err)
	}
	if !active.Active {
		// RFC 7662 §2.2: inactive says nothing more (expired, revoked, unknown).
		return nil, &middleware.Error{Code: middleware.CodeInvalidToken, Description: "token is not active", Status: http.StatusUnauthorized, Err: middleware.ErrRejected}
	}
	claims, err := middleware.ParseClaims(body)
	if err != nil {
		return nil, err // an *Error naming the claim
	}
	if !slices.Contains(claims.Audience, in.audience) {
		return nil, &middleware.Error{Code: middleware.CodeInvalidToken, Description: "audience mismatch", Status: http.StatusUnauthorized, Err: middleware.ErrInvalidAudience}
	}
	if !claims.Expiry.IsZero() && !in.now().Before(claims.Expiry) {
		return nil, &middleware.Error{Code: middleware.CodeInvalidToken, Description: "token expired", Status: http.StatusUnauthorized, Err: middleware.ErrExpired}
	}
	return claims, nil
}

// introspectionEndpoint is a small real RFC 7662 endpoint: it answers for
// the tokens registered with it and "active": false for any other. It
// can be made to fail with 503 and a Retry-After.
type introspectionEndpoint struct {
	t   *testing.T
	srv *httptest.Server

	mu     sync.Mutex        // guards tokens
	tokens map[string]string // token -> JSON members after "active"

	failing  atomic.Bool
	requests atomic.Int32
}

const (
	rsID     = "orders-api"
	rsSecret = "rs-s3cret"
)

func newIntrospectionEndpoint(t *testing.T) *introspectionEndpoint {
	e := &introspectionEndpoint{t: t, tokens: map[string]string{}}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

// activate registers token as active, with members, the JSON object
// members of its claims (without braces).
func (e *introspectionEndpoint) activate(token, members string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tokens[token] = members
}

func (e *introspectionEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	e.requests.Add(1)
	if e.failing.Load() {
		w.Header().Set("Retry-After", "7")
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return
	}
	if id, secret, ok := r.BasicAuth(); r.Method != http.MethodPost || !ok || id != rsID || secret != rsSecret {
		e.t.Errorf("introspection request: method %s, client authentication %v", r.Method, ok)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	members, ok := e.tokens[r.PostForm.Get("token")]
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		_, _ = io.WriteString(w, `{"active":false}`)
		return
	}
	_, _ = io.WriteString(w, `{"active":true,`+members+`}`)
}

// validator returns an introspector for audience "orders" asking e.
func (e *introspectionEndpoint) validator(now time.Time) *introspector {
	return &introspector{
		endpoint: e.srv.URL, client: e.srv.Client(), id: rsID, secret: rsSecret,
		audience: "orders", now: func() time.Time { return now }, maxBodyBytes: 1 << 20,
	}
}

// TestIntrospectionValidator runs a middleware.Validator that is not the
// JWT one, an RFC 7662 introspection client, through Bearer: claims reach
// the handler, scopes are checked on them, refusals are the validator's,
// and an endpoint that is down answers 503 with its Retry-After.
func TestIntrospectionValidator(t *testing.T) {
	now := time.Unix(1700000000, 0)
	e := newIntrospectionEndpoint(t)
	exp := strconv.FormatInt(now.Add(time.Hour).Unix(), 10)
	e.activate("tok-alice", `"sub":"alice","aud":"orders","scope":"orders:read profile","exp":`+exp+`,"username":"alice@example.com"`)
	e.activate("tok-noscope", `"sub":"bob","aud":"orders","scope":"profile","exp":`+exp)
	e.activate("tok-billing", `"sub":"carol","aud":["billing"],"scope":"orders:read","exp":`+exp)
	e.activate("tok-expired", `"sub":"dave","aud":"orders","scope":"orders:read","exp":`+strconv.FormatInt(now.Add(-time.Minute).Unix(), 10))
	e.activate("tok-strexp", `"sub":"erin","aud":"orders","scope":"orders:read","exp":"`+exp+`"`)

	var gotUser string
	var refused error
	h := middleware.Bearer(middleware.Options{
		Validator:      e.validator(now),
		RequiredScopes: []string{"orders:read"},
		OnRefusal:      func(_ *http.Request, err error) { refused = err },
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := middleware.ClaimsFromContext(r.Context())
		if !ok {
			t.Error("no claims in the context")
			return
		}
		var extra struct {
			Username string `json:"username"`
		}
		if err := claims.Decode(&extra); err != nil {
			t.Error(err)
		}
		gotUser = extra.Username
		fmt.Fprintf(w, "hello %s", claims.Subject)
	}))

	tests := []struct {
		name       string
		token      string
		failing    bool
		wantStatus int
		wantBody   string
		wantErr    error
		retryAfter string
	}{
		{name: "active", token: "tok-alice", wantStatus: 200, wantBody: "hello alice"},
		{name: "lacks the scope", token: "tok-noscope", wantStatus: 403, wantErr: middleware.ErrInsufficientScope,
			wantBody: `{"error":"insufficient_scope","error_description":"token lacks a required scope","scope":"orders:read"}`},
		{name: "inactive", token: "tok-unknown", wantStatus: 401, wantErr: middleware.ErrRejected,
			wantBody: `{"error":"invalid_token","error_description":"token is not active"}`},
		{name: "other audience", token: "tok-billing", wantStatus: 401, wantErr: middleware.ErrInvalidAudience,
			wantBody: `{"error":"invalid_token","error_description":"audience mismatch"}`},
		{name: "expired", token: "tok-expired", wantStatus: 401, wantErr: middleware.ErrExpired,
			wantBody: `{"error":"invalid_token","error_description":"token expired"}`},
		{name: "exp as a string", token: "tok-strexp", wantStatus: 401, wantErr: middleware.ErrInvalidClaim,
			wantBody: `{"error":"invalid_token","error_description":"claim \"exp\" is not a NumericDate (RFC 7519 §2): a string"}`},
		{name: "endpoint down", token: "tok-alice", failing: true, wantStatus: 503, wantErr: middleware.ErrUnavailable, retryAfter: "7",
			wantBody: `{"error":"temporarily_unavailable","error_description":"token could not be validated now"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.failing.Store(tt.failing)
			refused, gotUser = nil, ""
			req := httptest.NewRequest(http.MethodGet, "/orders", nil)
			req.Header.Set("Authorization", "Bearer "+tt.token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if got := strings.TrimSpace(rec.Body.String()); got != tt.wantBody {
				t.Errorf("body %s, want %s", got, tt.wantBody)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if tt.wantErr == nil {
				if refused != nil || gotUser != "alice@example.com" {
					t.Errorf("refused %v, username %q", refused, gotUser)
				}
				return
			}
			if !errors.Is(refused, tt.wantErr) {
				t.Errorf("OnRefusal got %v, want it to wrap %v", refused, tt.wantErr)
			}
		})
	}

	// An endpoint that cannot be reached at all: 503, no delay known.
	down := newIntrospectionEndpoint(t)
	v := down.validator(now)
	down.srv.Close()
	hd := middleware.Bearer(middleware.Options{Validator: v})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("the handler ran")
	}))
	req := httptest.NewRequest(http.MethodGet, "/orders", nil)
	req.Header.Set("Authorization", "Bearer tok-alice")
	rec := httptest.NewRecorder()
	hd.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "" {
		t.Errorf("unreachable endpoint: status %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
}
