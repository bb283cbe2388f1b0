package grpccreds_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/outbound/grpccreds"
)

// retryDelay returns the RetryInfo delay of st, 0 without one.
func retryDelay(st *status.Status) time.Duration {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}

// TestStatusClaimsChallenge: an On-Behalf-Of refusal with a claims
// challenge reaches the gRPC caller as Unauthenticated with the challenge
// HTTP would send, in an ErrorInfo detail; one without claims has none.
func TestStatusClaimsChallenge(t *testing.T) {
	const claims = `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`
	const description = "AADSTS50076: secret-description-xyz"
	obo := func(c string) error {
		return &outbound.TokenError{Route: "r", Mode: outbound.ModeExchange, Err: fmt.Errorf("exchange: %w",
			&authority.Error{Grant: authority.GrantJWTBearer, StatusCode: 400, Code: "interaction_required", Description: description, Claims: c})}
	}
	st := grpccreds.Status(obo(claims))
	assert.Equal(t, codes.Unauthenticated, st.Code())
	assert.NotContains(t, st.Message(), description)
	var infos []*errdetails.ErrorInfo
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			infos = append(infos, info)
		}
	}
	if assert.Len(t, infos, 1) {
		assert.Equal(t, grpccreds.ReasonInsufficientClaims, infos[0].GetReason())
		assert.Equal(t, grpccreds.ErrorInfoDomain, infos[0].GetDomain())
		want := `Bearer realm="", error="insufficient_claims", claims="` + base64.StdEncoding.EncodeToString([]byte(claims)) + `"`
		assert.Equal(t, want, infos[0].GetMetadata()[grpccreds.MetadataWWWAuthenticate])
	}

	st = grpccreds.Status(obo(""))
	assert.Equal(t, codes.Unauthenticated, st.Code())
	assert.Empty(t, st.Details())
}

// TestStatus pins the mapping from outbound's errors to codes, derived
// from outbound.StatusFor, with fixed messages.
func TestStatus(t *testing.T) {
	const secret = "description-with-secret-token-xyz"
	authErr := func(code string, status int, retry time.Duration) error {
		return &outbound.TokenError{Route: "r", Mode: outbound.ModeExchange, Err: fmt.Errorf("exchange: %w",
			&authority.Error{Grant: authority.GrantTokenExchange, StatusCode: status, Code: code, Description: secret, RetryAfter: retry})}
	}
	tests := []struct {
		name  string
		err   error
		code  codes.Code
		retry time.Duration
	}{
		{"nil", nil, codes.OK, 0},
		{"no subject", &outbound.TokenError{Mode: outbound.ModeExchange, Err: outbound.ErrNoSubjectToken}, codes.Unauthenticated, 0},
		{"not inbound", &outbound.TokenError{Mode: outbound.ModeExchange, Err: outbound.ErrNoInboundContext}, codes.Internal, 0},
		{"invalid_request", authErr("invalid_request", 400, 0), codes.Unauthenticated, 0},
		{"invalid_grant", authErr("invalid_grant", 400, 0), codes.Unauthenticated, 0},
		{"access_denied", authErr("access_denied", 403, 0), codes.PermissionDenied, 0},
		{"invalid_target", authErr("invalid_target", 400, 0), codes.Internal, 0},
		{"server error", authErr("temporarily_unavailable", 503, 3*time.Second), codes.Unavailable, 3 * time.Second},
		{"busy", &outbound.TokenError{Mode: outbound.ModeExchange, Err: exchange.ErrBusy}, codes.Unavailable, 0},
		{"subject expired", &outbound.TokenError{Mode: outbound.ModeExchange, Err: exchange.ErrSubjectExpired}, codes.Unauthenticated, 0},
		{"ambiguous path", outbound.ErrAmbiguousPath, codes.InvalidArgument, 0},
		{"deadline", context.DeadlineExceeded, codes.DeadlineExceeded, 0},
		{"canceled", &outbound.TokenError{Mode: outbound.ModeExchange, Err: context.Canceled}, codes.Canceled, 0},
		{"other", errors.New("dial tcp: refused " + secret), codes.Internal, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := grpccreds.Status(tt.err)
			assert.Equal(t, tt.code, st.Code())
			assert.Equal(t, tt.retry, retryDelay(st))
			assert.NotContains(t, st.Message(), secret)
			if tt.err != nil {
				assert.Contains(t, st.Message(), "grpccreds: ")
			}
		})
	}
}
