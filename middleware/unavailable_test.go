package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// validatorFunc adapts a function to middleware.Validator.
type validatorFunc func(context.Context, authority.SubjectToken) (*middleware.Claims, error)

func (f validatorFunc) Validate(ctx context.Context, tok authority.SubjectToken) (*middleware.Claims, error) {
	return f(ctx, tok)
}

// retryLater is a validator's own error type that knows when to retry.
type retryLater struct{ after time.Duration }

func (e *retryLater) Error() string             { return "introspection: endpoint answered 503: secret-detail" }
func (e *retryLater) Unwrap() error             { return middleware.ErrUnavailable }
func (e *retryLater) RetryAfter() time.Duration { return e.after }

// TestValidatorErrors pins how Bearer answers what a Validator returns: an
// *Error as it is, anything wrapping ErrUnavailable with 503 (and
// Retry-After when known, no challenge), anything else with a generic 401
// that does not reveal the error's text, which OnRefusal still sees.
func TestValidatorErrors(t *testing.T) {
	errPlain := errors.New("validator detail: secret-detail")
	tests := []struct {
		name           string
		err            error
		claims         *middleware.Claims
		wantStatus     int
		wantRetryAfter string // "" means no header
		wantBody       string
		wantChallenge  bool
		wantCause      error // OnRefusal's error wraps it
	}{
		{
			name:       "*Error as it is",
			err:        &middleware.Error{Code: middleware.CodeInvalidToken, Description: "token revoked", Status: http.StatusUnauthorized, Err: middleware.ErrRejected},
			wantStatus: http.StatusUnauthorized, wantBody: `{"error":"invalid_token","error_description":"token revoked"}`,
			wantChallenge: true, wantCause: middleware.ErrRejected,
		},
		{
			name:       "*Error 503 with RetryAfter",
			err:        &middleware.Error{Code: middleware.CodeTemporarilyUnavailable, Description: "keys down", Status: http.StatusServiceUnavailable, RetryAfter: 1500 * time.Millisecond, Err: middleware.ErrKeysUnavailable},
			wantStatus: http.StatusServiceUnavailable, wantRetryAfter: "2", wantBody: `{"error":"temporarily_unavailable","error_description":"keys down"}`,
			wantCause: middleware.ErrUnavailable,
		},
		{
			name:       "*Error wrapping ErrUnavailable with another status",
			err:        &middleware.Error{Code: middleware.CodeInvalidToken, Description: "keys down", Status: http.StatusUnauthorized, Err: fmt.Errorf("%w: dial tcp", middleware.ErrKeysUnavailable)},
			wantStatus: http.StatusServiceUnavailable, wantBody: `{"error":"temporarily_unavailable","error_description":"keys down"}`,
			wantCause: middleware.ErrKeysUnavailable,
		},
		{
			name:       "own error type with RetryAfter",
			err:        fmt.Errorf("introspecting: %w", &retryLater{after: 30 * time.Second}),
			wantStatus: http.StatusServiceUnavailable, wantRetryAfter: "30", wantBody: `{"error":"temporarily_unavailable","error_description":"token could not be validated now"}`,
			wantCause: middleware.ErrUnavailable,
		},
		{
			name:       "wrapped ErrUnavailable, delay unknown",
			err:        fmt.Errorf("introspecting: dial tcp: secret-detail: %w", middleware.ErrUnavailable),
			wantStatus: http.StatusServiceUnavailable, wantBody: `{"error":"temporarily_unavailable","error_description":"token could not be validated now"}`,
			wantCause: middleware.ErrUnavailable,
		},
		{
			name:       "other error",
			err:        errPlain,
			wantStatus: http.StatusUnauthorized, wantBody: `{"error":"invalid_token","error_description":"token could not be validated"}`,
			wantChallenge: true, wantCause: errPlain,
		},
		{
			name:       "no claims, no error",
			wantStatus: http.StatusUnauthorized, wantBody: `{"error":"invalid_token","error_description":"token could not be validated"}`,
			wantChallenge: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var refused error
			reached := false
			h := middleware.Bearer(middleware.Options{
				Validator: validatorFunc(func(context.Context, authority.SubjectToken) (*middleware.Claims, error) {
					return tt.claims, tt.err
				}),
				OnRefusal: func(_ *http.Request, err error) { refused = err },
			})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
			req := httptest.NewRequest(http.MethodGet, "/resource", nil)
			req.Header.Set("Authorization", "Bearer some-token")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			assert.False(t, reached, "the handler ran")
			assert.Equal(t, tt.wantStatus, rec.Code)
			assert.Equal(t, tt.wantRetryAfter, rec.Header().Get("Retry-After"))
			assert.JSONEq(t, tt.wantBody, rec.Body.String())
			assert.NotContains(t, rec.Body.String(), "secret-detail")
			assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			if tt.wantChallenge {
				assert.Contains(t, rec.Header().Get("WWW-Authenticate"), `Bearer realm="api", error="invalid_token"`)
			} else {
				assert.Empty(t, rec.Header().Get("WWW-Authenticate"), "a 503 is no authentication challenge")
			}
			var e *middleware.Error
			require.ErrorAs(t, refused, &e, "OnRefusal gets an *Error")
			assert.NotContains(t, e.Error(), "secret-detail")
			if tt.wantCause != nil {
				assert.ErrorIs(t, refused, tt.wantCause)
			}
		})
	}
}
