package introspect

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/internal/semconv"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// TestValidateRefusesOtherTokenTypes: an answer the authority calls active
// but whose token_type or typ claim says it describes a refresh token or
// an ID token (as Keycloak answers, ignoring token_type_hint) is refused,
// even with no audience check; an access token marked as one passes. The
// refusal is cached like any other.
func TestValidateRefusesOtherTokenTypes(t *testing.T) {
	for _, audience := range [][]string{nil, {"gateway"}} {
		t.Run("audience "+strings.Join(audience, ","), func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.Audience = audience })
			issue := func(extra map[string]any) string {
				return e.a.IssueOpaqueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"gateway"}, Extra: extra})
			}
			tests := []struct {
				name  string
				token string
				ok    bool
			}{
				{name: "no typ, Bearer", token: issue(nil), ok: true},
				{name: "keycloak access token", token: issue(map[string]any{"typ": "Bearer"}), ok: true},
				{name: "at+jwt", token: issue(map[string]any{"typ": "at+jwt"}), ok: true},
				{name: "application/at+jwt, any case", token: issue(map[string]any{"typ": "Application/AT+JWT"}), ok: true},
				{name: "token_type bearer", token: issue(map[string]any{"token_type": "bearer"}), ok: true},
				{name: "keycloak refresh token", token: issue(map[string]any{"typ": "Refresh"})},
				{name: "keycloak offline token", token: issue(map[string]any{"typ": "Offline"})},
				{name: "keycloak id token", token: issue(map[string]any{"typ": "ID"})},
				{name: "refresh token_type", token: issue(map[string]any{"token_type": "refresh_token"})},
				{name: "refresh token_type and typ", token: issue(map[string]any{"token_type": "refresh_token", "typ": "Refresh"})},
				{name: "DPoP token_type", token: issue(map[string]any{"token_type": "DPoP"})},
				{name: "N_A token_type", token: issue(map[string]any{"token_type": "N_A"})},
				{name: "empty token_type", token: issue(map[string]any{"token_type": ""})},
				{name: "token_type not a string", token: issue(map[string]any{"token_type": 1})},
				{name: "typ not a string", token: issue(map[string]any{"typ": []string{"Bearer"}})},
				{name: "Bearer token_type, ID typ", token: issue(map[string]any{"token_type": "Bearer", "typ": "ID"})},
				{name: "id token as a jwt", token: e.a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"gateway"}, Extra: map[string]any{"typ": "ID"}})},
			}
			refused := 0
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					before := e.a.Introspections()
					rec := e.serve(tt.token)
					if tt.ok {
						require.Equal(t, 200, rec.Code, "%s", rec.Body)
						return
					}
					refused++
					require.Equal(t, 401, rec.Code, "%s", rec.Body)
					assert.Contains(t, rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`)
					_, err := e.v.Validate(context.Background(), authority.NewSubjectToken(tt.token))
					require.ErrorIs(t, err, middleware.ErrInvalidType)
					var me *middleware.Error
					require.ErrorAs(t, err, &me)
					assert.Equal(t, "token is not an access token", me.Description)
					// Cached negatively: the second answer made no introspection.
					assert.Equal(t, before+1, e.a.Introspections())
				})
			}
			assert.EqualValues(t, refused, e.metrics.Int64(t, metricIntrospections, semconv.Outcome.String("refused")))
			assert.EqualValues(t, refused, e.metrics.Int64(t, metricLookups, lookup("negative_hit")))
		})
	}
}

// TestCheckTokenType covers answer shapes the authority does not make:
// null members, names that differ in case, a body that is not an object.
func TestCheckTokenType(t *testing.T) {
	tests := []struct {
		answer string
		err    error // nil: accepted
	}{
		{answer: `{"active":true}`},
		{answer: `{"active":true,"token_type":null,"typ":null}`},
		{answer: `{"active":true,"token_type":"BEARER","typ":"bearer"}`},
		{answer: `{"active":true,"nested":{"typ":"Refresh","token_type":"x"}}`},
		{answer: `{"active":true,"Typ":"Refresh"}`}, // another claim: names are case-sensitive
		{answer: `{"active":true,"typ":"Refresh"}`, err: middleware.ErrInvalidType},
		{answer: `{"active":true,"typ":"JWT"}`, err: middleware.ErrInvalidType},
		{answer: `{"active":true,"token_type":"mac"}`, err: middleware.ErrInvalidType},
		{answer: `{"active":true,"token_type":true}`, err: middleware.ErrInvalidType},
		{answer: `{"active":true,"typ":{}}`, err: middleware.ErrInvalidType},
		{answer: `{"active":true,"typ":" Bearer"}`, err: middleware.ErrInvalidType},
		{answer: `[]`, err: middleware.ErrMalformedToken},
		{answer: `{"active":true,"typ":}`, err: middleware.ErrMalformedToken},
	}
	for _, tt := range tests {
		t.Run(tt.answer, func(t *testing.T) {
			e := checkTokenType([]byte(tt.answer))
			if tt.err == nil {
				require.Nil(t, e)
				return
			}
			require.NotNil(t, e)
			require.ErrorIs(t, e, tt.err)
			assert.Equal(t, 401, e.Status)
			assert.NotContains(t, e.Error(), "Refresh")
		})
	}
}
