package authority_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClientAuthentication(t *testing.T) {
	a := newAuthority(t, testutil.Options{})
	key := newECKey(t)
	a.AddClient(testutil.Client{ID: "signer", AuthMethod: "private_key_jwt", PublicKey: key.Public(), KeyID: "client-key-1"})

	tests := []struct {
		name  string
		cfg   authority.Config
		grant func(ctx context.Context, c *authority.Client) (*authority.Token, error)
		sub   string
	}{
		{name: "client_secret_basic", cfg: authority.Config{ClientID: "gateway", ClientSecret: "gateway-secret"}, sub: "gateway"},
		{name: "client_secret_basic with characters to form-encode", cfg: authority.Config{ClientID: "id:with space", ClientSecret: "s3cr:et+/%"}, sub: "id:with space"},
		{name: "client_secret_post", cfg: authority.Config{ClientID: "poster", ClientSecret: "poster secret&=", AuthMethod: authority.AuthClientSecretPost}, sub: "poster"},
		{name: "private_key_jwt", cfg: authority.Config{ClientID: "signer", Signer: key, KeyID: "client-key-1"}, sub: "signer"},
		{name: "none (public client, password grant)", cfg: authority.Config{ClientID: "public"}, sub: "alice",
			grant: func(ctx context.Context, c *authority.Client) (*authority.Token, error) {
				return c.Password(ctx, authority.PasswordRequest{Username: "alice", Password: "wonderland"})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, a, tt.cfg)
			grant := tt.grant
			if grant == nil {
				grant = func(ctx context.Context, c *authority.Client) (*authority.Token, error) {
					return c.ClientCredentials(ctx, authority.ClientCredentialsRequest{})
				}
			}
			tok, err := grant(context.Background(), c)
			require.NoError(t, err)
			assert.Equal(t, tt.sub, claims(t, tok.AccessToken).Subject())
		})
	}
}

func TestClientAuthenticationRefused(t *testing.T) {
	a := newAuthority(t, testutil.Options{})
	tests := []struct {
		name string
		cfg  authority.Config
	}{
		{name: "wrong secret", cfg: authority.Config{ClientID: "gateway", ClientSecret: "nope"}},
		{name: "unknown client", cfg: authority.Config{ClientID: "nobody", ClientSecret: "x"}},
		{name: "wrong method", cfg: authority.Config{ClientID: "poster", ClientSecret: "poster secret&=", AuthMethod: authority.AuthClientSecretBasic}},
		{name: "wrong key", cfg: authority.Config{ClientID: "gateway", Signer: newECKey(t)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newClient(t, a, tt.cfg).ClientCredentials(context.Background(), authority.ClientCredentialsRequest{})
			require.ErrorIs(t, err, authority.ErrInvalidClient)
			assert.True(t, authority.IsPermanent(err))
			if tt.cfg.ClientSecret != "" {
				assert.NotContains(t, err.Error(), tt.cfg.ClientSecret)
			}
		})
	}
}

func TestClientCredentialsParameters(t *testing.T) {
	a := newAuthority(t, testutil.Options{})
	c := newClient(t, a, authority.Config{ClientID: "gateway", ClientSecret: "gateway-secret"})
	tok, err := c.ClientCredentials(context.Background(), authority.ClientCredentialsRequest{
		Scopes:    []string{"read", "write"},
		Audiences: []string{"orders"},
		Resources: []string{"https://billing.example/api"},
		Extra:     map[string][]string{"custom": {"1"}, "grant_type": {"password"}},
	})
	require.NoError(t, err)
	cl := claims(t, tok.AccessToken)
	assert.Contains(t, cl.Audience(), "orders")
	assert.Contains(t, cl.Audience(), "https://billing.example/api")
	assert.Equal(t, "read write", tok.Scope)
	reqs := a.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "client_credentials", reqs[0].Form.Get("grant_type"), "Extra must not override grant_type")
	assert.Equal(t, "1", reqs[0].Form.Get("custom"))

	_, err = c.ClientCredentials(context.Background(), authority.ClientCredentialsRequest{Resources: []string{"relative/path"}})
	require.Error(t, err)
	assert.Equal(t, 1, a.Count(authority.GrantClientCredentials), "a bad resource is refused before any request")
}

func TestPasswordAndRefresh(t *testing.T) {
	a := newAuthority(t, testutil.Options{})
	c := newClient(t, a, authority.Config{ClientID: "gateway", ClientSecret: "gateway-secret"})
	ctx := context.Background()

	_, err := c.Password(ctx, authority.PasswordRequest{Username: "alice", Password: "wrong"})
	require.ErrorIs(t, err, authority.ErrInvalidGrant)
	assert.NotContains(t, err.Error(), "wrong")

	tok, err := c.Password(ctx, authority.PasswordRequest{Username: "alice", Password: "wonderland", Scopes: []string{"profile"}})
	require.NoError(t, err)
	require.NotEmpty(t, tok.RefreshToken)
	assert.Equal(t, "alice", claims(t, tok.AccessToken).Subject())

	renewed, err := c.Refresh(ctx, authority.RefreshRequest{RefreshToken: tok.RefreshToken})
	require.NoError(t, err)
	assert.NotEqual(t, tok.AccessToken, renewed.AccessToken)
	assert.NotEmpty(t, renewed.RefreshToken)

	a.RevokeUserSessions("alice")
	_, err = c.Refresh(ctx, authority.RefreshRequest{RefreshToken: renewed.RefreshToken})
	require.ErrorIs(t, err, authority.ErrInvalidGrant)
	assert.Contains(t, err.Error(), "Session not active")
	assert.NotContains(t, err.Error(), renewed.RefreshToken)

	_, err = c.Refresh(ctx, authority.RefreshRequest{})
	require.Error(t, err)
	_, err = c.Password(ctx, authority.PasswordRequest{})
	require.Error(t, err)
}

func TestExpiresIn(t *testing.T) {
	clock := newFakeClock()
	tests := []struct {
		name string
		opts testutil.Options
		want time.Duration
	}{
		{name: "number", opts: testutil.Options{TokenLifetime: 90 * time.Second}, want: 90 * time.Second},
		{name: "string", opts: testutil.Options{TokenLifetime: 90 * time.Second, ExpiresInAsString: true}, want: 90 * time.Second},
		{name: "missing uses the default lifetime", opts: testutil.Options{OmitExpiresIn: true}, want: 17 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Now = clock.Now
			a := newAuthority(t, tt.opts)
			c := newClient(t, a, authority.Config{ClientID: "gateway", ClientSecret: "gateway-secret", Now: clock.Now, DefaultLifetime: 17 * time.Second})
			tok, err := c.ClientCredentials(context.Background(), authority.ClientCredentialsRequest{})
			require.NoError(t, err)
			assert.Equal(t, clock.Now().Add(tt.want), tok.Expiry, "expiry counts from when the request was sent")
		})
	}
}

func TestExchange(t *testing.T) {
	a := newAuthority(t, testutil.Options{})
	c := newClient(t, a, authority.Config{ClientID: "gateway", ClientSecret: "gateway-secret"})
	ctx := context.Background()
	subject := a.UserToken("alice", "web", "gateway")

	tok, err := c.Exchange(ctx, authority.ExchangeRequest{SubjectToken: subject, Audiences: []string{"orders"}})
	require.NoError(t, err)
	assert.Equal(t, authority.TokenTypeAccessToken, tok.IssuedTokenType)
	cl := claims(t, tok.AccessToken)
	assert.Equal(t, "alice", cl.Subject())
	assert.Equal(t, []string{"orders"}, cl.Audience())

	form := a.Requests()[0].Form
	assert.Equal(t, authority.GrantTokenExchange, form.Get("grant_type"))
	assert.Equal(t, authority.TokenTypeAccessToken, form.Get("subject_token_type"))
	assert.Equal(t, authority.TokenTypeAccessToken, form.Get("requested_token_type"), "requested_token_type is always sent")

	t.Run("with actor", func(t *testing.T) {
		actor, err := c.ClientCredentials(ctx, authority.ClientCredentialsRequest{})
		require.NoError(t, err)
		tok, err := c.Exchange(ctx, authority.ExchangeRequest{SubjectToken: subject, ActorToken: actor.AccessToken, Audiences: []string{"billing"}})
		require.NoError(t, err)
		act, ok := claims(t, tok.AccessToken).Get("act")
		require.True(t, ok)
		assert.Equal(t, "gateway", act.(map[string]any)["sub"])
	})

	refusals := []struct {
		name string
		req  authority.ExchangeRequest
		code authority.ErrorCode
	}{
		{name: "unknown audience", req: authority.ExchangeRequest{SubjectToken: subject, Audiences: []string{"nowhere"}}, code: authority.ErrInvalidTarget},
		{name: "foreign subject token", req: authority.ExchangeRequest{SubjectToken: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", Audiences: []string{"orders"}}, code: authority.ErrInvalidRequest},
		{name: "expired subject token", req: authority.ExchangeRequest{SubjectToken: a.IssueToken(testutil.TokenClaims{Subject: "alice", Expiry: time.Now().Add(-time.Minute)}), Audiences: []string{"orders"}}, code: authority.ErrInvalidRequest},
		{name: "unsupported requested type", req: authority.ExchangeRequest{SubjectToken: subject, RequestedTokenType: authority.TokenTypeSAML2}, code: authority.ErrInvalidRequest},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Exchange(ctx, tt.req)
			require.ErrorIs(t, err, tt.code)
			assert.True(t, authority.IsPermanent(err))
			assert.NotContains(t, err.Error(), tt.req.SubjectToken)
		})
	}

	t.Run("requester not in the subject token's audience", func(t *testing.T) {
		a.AddClient(testutil.Client{ID: "strict", Secret: "strict-secret", RequireSubjectAudience: true})
		strict := newClient(t, a, authority.Config{ClientID: "strict", ClientSecret: "strict-secret"})
		_, err := strict.Exchange(ctx, authority.ExchangeRequest{SubjectToken: subject, Audiences: []string{"orders"}})
		require.ErrorIs(t, err, authority.ErrAccessDenied)
		var ae *authority.Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, http.StatusForbidden, ae.StatusCode)
		assert.Equal(t, "Client is not within the token audience", ae.Description)
	})

	_, err = c.Exchange(ctx, authority.ExchangeRequest{})
	require.Error(t, err, "a subject token is required")
	_, err = c.Exchange(ctx, authority.ExchangeRequest{SubjectToken: subject, ActorTokenType: authority.TokenTypeJWT})
	require.Error(t, err, "an actor token type needs an actor token")
}
