package authority_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNothingPrintsASecret(t *testing.T) {
	const access, refresh, secret, password, subject, actor = "AT-secret-value", "RT-secret-value", "client-secret-value", "password-value", "subject-token-value", "actor-token-value"
	tok := authority.Token{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer", Scope: "a b", Expiry: time.Unix(1e9, 0)}
	values := []any{
		tok, &tok,
		struct{ T authority.Token }{tok},
		authority.Config{ClientID: "id", ClientSecret: secret, TokenURL: "https://as/token"},
		authority.PasswordRequest{Username: "alice", Password: password},
		authority.RefreshRequest{RefreshToken: refresh},
		authority.ExchangeRequest{SubjectToken: subject, ActorToken: actor, Audiences: []string{"orders"}},
	}
	client, err := authority.New(authority.Config{ClientID: "id", ClientSecret: secret, TokenURL: "https://as/token"})
	require.NoError(t, err)
	values = append(values, client, authority.NewCachedSource(client, authority.PasswordRequest{Username: "alice", Password: password}, authority.CachedSourceOptions{}))
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			out := fmt.Sprintf(verb, v)
			for _, s := range []string{access, refresh, secret, password, subject, actor} {
				assert.NotContains(t, out, s, "%s of %T", verb, v)
			}
		}
	}
	assert.Contains(t, fmt.Sprint(tok), "access_token=[redacted]")
	assert.Contains(t, fmt.Sprint(authority.Token{}), "refresh_token=none")

	for name, h := range map[string]func(io.Writer) slog.Handler{
		"json": func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
		"text": func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) },
	} {
		var buf bytes.Buffer
		logger := slog.New(h(&buf))
		logger.Info("got token", "token", tok, "ptr", &tok)
		for _, v := range values {
			logger.Info("value", "v", v, "wrapped", struct{ V any }{v})
		}
		for _, s := range []string{access, refresh, secret, password, subject, actor} {
			assert.NotContains(t, buf.String(), s, "%s handler", name)
		}
		assert.Contains(t, buf.String(), "a b", "%s handler", name)
	}
	js, err := json.Marshal(struct{ T *authority.Token }{&tok})
	require.NoError(t, err)
	assert.NotContains(t, string(js), access)
	assert.Contains(t, string(js), `"access_token":"[redacted]"`)
}

func TestTokenExpiry(t *testing.T) {
	now := time.Unix(1000, 0)
	tok := &authority.Token{AccessToken: "x", Expiry: now.Add(time.Minute)}
	assert.False(t, tok.Expired(now))
	assert.True(t, tok.Expired(now.Add(time.Minute)))
	assert.False(t, tok.ExpiresWithin(now, 59*time.Second))
	assert.True(t, tok.ExpiresWithin(now, time.Minute))
	var none *authority.Token
	assert.True(t, none.Expired(now))
	assert.True(t, none.ExpiresWithin(now, 0))
}
