package middleware_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// TestAuthenticate pins that the Authenticator refuses and accepts the
// values Bearer does, and stores the token and claims with the same
// helpers.
func TestAuthenticate(t *testing.T) {
	const token = "authn-9f2c.secret-token"
	scoped := validatorFunc(func(_ context.Context, tok authority.SubjectToken) (*middleware.Claims, error) {
		switch tok.Value() {
		case token:
			return middleware.ParseClaims([]byte(`{"sub":"alice","scope":"orders:read"}`))
		case "down":
			return nil, &retryLater{}
		case "plain-err":
			return nil, errors.New("validator detail: secret-detail")
		}
		return nil, &middleware.Error{Code: middleware.CodeInvalidToken, Description: "token expired", Status: 401, Err: middleware.ErrExpired}
	})
	tests := []struct {
		name    string
		opts    middleware.Options
		values  []string
		wantErr error
		reason  string
		status  int
	}{
		{"accepted opaque", middleware.Options{}, []string{"Bearer " + token}, nil, "", 0},
		{"scheme case", middleware.Options{}, []string{"bEaReR  " + token}, nil, "", 0},
		{"missing", middleware.Options{}, nil, middleware.ErrMissingToken, "missing_token", 401},
		{"empty", middleware.Options{}, []string{""}, middleware.ErrMalformedHeader, "malformed_header", 400},
		{"two values", middleware.Options{}, []string{"Bearer a", "Bearer b"}, middleware.ErrMultipleHeaders, "multiple_headers", 400},
		{"basic", middleware.Options{}, []string{"Basic YWxhZGRpbjpvcGVu"}, middleware.ErrUnsupportedScheme, "unsupported_scheme", 401},
		{"bad chars", middleware.Options{}, []string{"Bearer a,b"}, middleware.ErrMalformedHeader, "malformed_header", 400},
		{"too large", middleware.Options{MaxTokenSize: 8}, []string{"Bearer 123456789"}, middleware.ErrTokenTooLarge, "token_too_large", 400},
		{"validated", middleware.Options{Validator: scoped, RequiredScopes: []string{"orders:read"}}, []string{"Bearer " + token}, nil, "", 0},
		{"expired", middleware.Options{Validator: scoped}, []string{"Bearer other"}, middleware.ErrExpired, "invalid_token", 401},
		{"scope", middleware.Options{Validator: scoped, RequiredScopes: []string{"orders:write"}}, []string{"Bearer " + token}, middleware.ErrInsufficientScope, "insufficient_scope", 403},
		{"unavailable", middleware.Options{Validator: scoped}, []string{"Bearer down"}, middleware.ErrUnavailable, "unavailable", 503},
		{"validator error", middleware.Options{Validator: scoped}, []string{"Bearer plain-err"}, nil, "other", 401},
		{"optional anonymous", middleware.Options{Optional: true}, nil, nil, "", 0},
		{"optional still refuses garbage", middleware.Options{Optional: true}, []string{"Bearer"}, middleware.ErrMalformedHeader, "malformed_header", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := middleware.NewAuthenticator(tt.opts)
			ctx, err := a.Authenticate(context.Background(), tt.values)
			if tt.reason == "" {
				require.NoError(t, err)
				assert.True(t, middleware.IsInbound(ctx))
				tok, ok := middleware.TokenFromContext(ctx)
				if len(tt.values) == 0 {
					assert.False(t, ok, "anonymous")
					return
				}
				assert.True(t, ok)
				assert.Equal(t, token, tok)
				_, hasClaims := middleware.ClaimsFromContext(ctx)
				assert.Equal(t, tt.opts.Validator != nil, hasClaims)
				return
			}
			require.Error(t, err)
			assert.False(t, middleware.IsInbound(ctx), "a refusal returns the context unchanged")
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			}
			var e *middleware.Error
			require.ErrorAs(t, err, &e)
			if tt.status == 503 {
				assert.ErrorIs(t, err, middleware.ErrUnavailable)
			} else {
				assert.Equal(t, tt.status, e.Status)
			}
			assert.Equal(t, tt.reason, middleware.RefusalReason(err))
			assert.False(t, strings.Contains(err.Error(), token), "token in %q", err)
		})
	}
}

// TestNewAuthenticatorPanics pins that misuse panics as Bearer does.
func TestNewAuthenticatorPanics(t *testing.T) {
	assert.PanicsWithValue(t, "middleware: Options.MaxTokenSize must not be negative", func() {
		middleware.NewAuthenticator(middleware.Options{MaxTokenSize: -1})
	})
	assert.Panics(t, func() { middleware.NewAuthenticator(middleware.Options{RequiredScopes: []string{"a"}}) })
}
