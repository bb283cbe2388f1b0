package outbound_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/outbound"
)

func TestStatusFor(t *testing.T) {
	exchangeErr := func(code string, status int) *authority.Error {
		return &authority.Error{Grant: authority.GrantTokenExchange, Code: code, StatusCode: status}
	}
	tokenErr := func(mode outbound.Mode, cause error) error {
		return &outbound.TokenError{Route: "https://orders.internal", Mode: mode, Err: fmt.Errorf("exchange: %w", cause)}
	}
	netErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	tests := []struct {
		name   string
		err    error
		status int
		header string // "Name: value"
	}{
		{"nil", nil, 200, ""},
		{"no route", &outbound.RouteError{Origin: "https://x"}, 502, ""},
		{"no subject", &outbound.TokenError{Mode: outbound.ModeExchange, Err: outbound.ErrNoSubjectToken}, 401, "WWW-Authenticate: Bearer"},
		{"no inbound context", &outbound.TokenError{Mode: outbound.ModeExchange, Err: outbound.ErrNoInboundContext}, 500, ""},
		{"no inbound context in url.Error", &url.Error{Op: "Get", URL: "https://x", Err: &outbound.TokenError{Mode: outbound.ModePassThrough, Err: outbound.ErrNoInboundContext}}, 500, ""},
		{"no subject in url.Error", &url.Error{Op: "Get", URL: "https://x", Err: &outbound.TokenError{Mode: outbound.ModePassThrough, Err: outbound.ErrNoSubjectToken}}, 401, "WWW-Authenticate: Bearer"},
		{"invalid_request", tokenErr(outbound.ModeExchange, exchangeErr("invalid_request", 400)), 401, `WWW-Authenticate: Bearer error="invalid_token"`},
		{"invalid_grant", tokenErr(outbound.ModeExchange, exchangeErr("invalid_grant", 400)), 401, `WWW-Authenticate: Bearer error="invalid_token"`},
		{"access_denied", tokenErr(outbound.ModeExchange, exchangeErr("access_denied", 403)), 403, ""},
		{"invalid_target", tokenErr(outbound.ModeExchange, exchangeErr("invalid_target", 400)), 502, ""},
		{"invalid_client", tokenErr(outbound.ModeExchange, exchangeErr("invalid_client", 401)), 502, ""},
		{"unauthorized_client", tokenErr(outbound.ModeExchange, exchangeErr("unauthorized_client", 400)), 502, ""},
		{"invalid_scope", tokenErr(outbound.ModeExchange, exchangeErr("invalid_scope", 400)), 502, ""},
		{"unknown code", tokenErr(outbound.ModeExchange, exchangeErr("weird", 400)), 502, ""},
		{"actor grant invalid_grant", tokenErr(outbound.ModeExchange, &authority.Error{Grant: authority.GrantClientCredentials, Code: "invalid_grant", StatusCode: 400}), 502, ""},
		{"own token invalid_grant", tokenErr(outbound.ModeOwnToken, &authority.Error{Grant: authority.GrantPassword, Code: "invalid_grant", StatusCode: 400}), 502, ""},
		{"5xx", tokenErr(outbound.ModeExchange, exchangeErr("", 500)), 503, ""},
		{"429 Retry-After", tokenErr(outbound.ModeOwnToken, &authority.Error{StatusCode: 429, RetryAfter: 1500 * time.Millisecond}), 503, "Retry-After: 2"},
		{"temporarily_unavailable", tokenErr(outbound.ModeExchange, exchangeErr("temporarily_unavailable", 400)), 503, ""},
		{"unreachable", tokenErr(outbound.ModeExchange, netErr), 503, ""},
		{"timeout", tokenErr(outbound.ModeExchange, context.DeadlineExceeded), 503, ""},
		{"other token failure", tokenErr(outbound.ModeExchange, errors.New("the authority issued an expired token")), 502, ""},
		{"canceled", tokenErr(outbound.ModeExchange, context.Canceled), 502, ""},
		{"downstream unreachable", &url.Error{Op: "Get", URL: "https://x", Err: netErr}, 502, ""},
		{"actor route invalid_request", &outbound.TokenError{Mode: outbound.ModeExchange, Actor: true, Err: fmt.Errorf("exchange: %w", exchangeErr("invalid_request", 400))}, 502, ""},
		{"actor route invalid_grant", &outbound.TokenError{Mode: outbound.ModeExchange, Actor: true, Err: fmt.Errorf("exchange: %w", exchangeErr("invalid_grant", 400))}, 401, `WWW-Authenticate: Bearer error="invalid_token"`},
		{"actor route access_denied", &outbound.TokenError{Mode: outbound.ModeExchange, Actor: true, Err: exchangeErr("access_denied", 403)}, 403, ""},
		{"subject expired", tokenErr(outbound.ModeExchange, exchange.ErrSubjectExpired), 401, `WWW-Authenticate: Bearer error="invalid_token"`},
		{"subject exp not a NumericDate", tokenErr(outbound.ModeExchange, exchange.ErrSubjectInvalid), 401, `WWW-Authenticate: Bearer error="invalid_token"`},
		{"exchanger busy", tokenErr(outbound.ModeExchange, exchange.ErrBusy), 503, ""},
		{"exchanger closed", tokenErr(outbound.ModeExchange, exchange.ErrClosed), 503, ""},
		{"exchanger busy in url.Error", &url.Error{Op: "Get", URL: "https://x", Err: tokenErr(outbound.ModeExchange, exchange.ErrBusy)}, 503, ""},
		{"downstream deadline", &url.Error{Op: "Get", URL: "https://x", Err: context.DeadlineExceeded}, 504, ""},
		{"downstream deadline, bare", fmt.Errorf("net/http: %w", context.DeadlineExceeded), 504, ""},
		{"ambiguous path", &outbound.RouteError{Origin: "https://x", Reason: outbound.ErrAmbiguousPath}, 400, ""},
		{"ambiguous path in url.Error", &url.Error{Op: "Get", URL: "https://x", Err: &outbound.RouteError{Origin: "https://x", Reason: outbound.ErrAmbiguousPath}}, 400, ""},
		{"host mismatch", &outbound.RouteError{Origin: "https://x", Reason: outbound.ErrHostMismatch}, 502, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h := outbound.StatusFor(tt.err)
			assert.Equal(t, tt.status, status)
			if tt.header == "" {
				assert.Empty(t, h)
				return
			}
			want := http.Header{}
			k, v, _ := strings.Cut(tt.header, ": ")
			want.Set(k, v)
			assert.Equal(t, want, h)
		})
	}
}

// TestErrorTexts: every error of the package has a text, also with
// fields left empty.
func TestErrorTexts(t *testing.T) {
	assert.Equal(t, "outbound: route  (Mode(0)): no token", (&outbound.TokenError{}).Error())
	assert.Equal(t, "outbound: route r (exchange): no token: x", (&outbound.TokenError{Route: "r", Mode: outbound.ModeExchange, Err: errors.New("x")}).Error())
	assert.Equal(t, "outbound: no route for https://x (request not sent)", (&outbound.RouteError{Origin: "https://x"}).Error())
	assert.Contains(t, (&outbound.RouteError{Origin: "https://x", Reason: outbound.ErrHostMismatch}).Error(), "Host header")
	assert.Contains(t, (&outbound.RouteError{Origin: "https://x", Reason: outbound.ErrAmbiguousPath}).Error(), "ambiguous path")
	assert.Contains(t, (&outbound.RouteError{Origin: "https://x", Reason: errors.New("other")}).Error(), "other")
	assert.ErrorIs(t, &outbound.RouteError{Reason: outbound.ErrAmbiguousPath}, outbound.ErrNoRoute)
}

func TestErrorHandlerBody(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "http://gateway/x", nil)
	outbound.ErrorHandler(nil)(rec, req, &outbound.TokenError{Route: "r", Mode: outbound.ModeExchange, Err: outbound.ErrNoSubjectToken})
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Equal(t, "Bearer", rec.Header().Get("WWW-Authenticate"))
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	assert.JSONEq(t, `{"error":"missing_token","error_description":"Unauthorized"}`, rec.Body.String())

	rec = httptest.NewRecorder()
	outbound.ErrorHandler(nil)(rec, req, &outbound.TokenError{Route: "r", Mode: outbound.ModeExchange, Err: &authority.Error{Grant: authority.GrantTokenExchange, Code: "access_denied", StatusCode: 403, Description: "not for you"}})
	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.JSONEq(t, `{"error":"access_denied","error_description":"Forbidden"}`, rec.Body.String())

	rec = httptest.NewRecorder()
	outbound.ErrorHandler(nil)(rec, req, &outbound.RouteError{Origin: "https://x", Reason: outbound.ErrAmbiguousPath})
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.JSONEq(t, `{"error":"invalid_request","error_description":"Bad Request"}`, rec.Body.String())

	rec = httptest.NewRecorder()
	outbound.ErrorHandler(nil)(rec, req, &url.Error{Op: "Get", URL: "https://x", Err: context.DeadlineExceeded})
	assert.Equal(t, http.StatusGatewayTimeout, rec.Code)
	assert.JSONEq(t, `{"error":"gateway_timeout","error_description":"Gateway Timeout"}`, rec.Body.String())
}
