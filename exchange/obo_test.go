package exchange_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

var oboTarget = exchange.Target{Name: "orders", Dialect: exchange.DialectEntraOBO, Scopes: []string{"api://orders/.default"}}

func (e *env) onBehalfOfs() int { return e.a.Count(testutil.GrantJWTBearer) }

func TestDialectNames(t *testing.T) {
	for _, d := range []exchange.Dialect{exchange.DialectRFC8693, exchange.DialectEntraOBO} {
		got, err := exchange.ParseDialect(d.String())
		require.NoError(t, err)
		assert.Equal(t, d, got)
	}
	d, err := exchange.ParseDialect("")
	require.NoError(t, err)
	assert.Equal(t, exchange.DialectRFC8693, d)
	_, err = exchange.ParseDialect("saml")
	require.ErrorContains(t, err, `unknown dialect "saml"`)
	assert.Equal(t, "Dialect(9)", exchange.Dialect(9).String())
}

func TestPrepareOnBehalfOf(t *testing.T) {
	actor := staticSource{tok: &authority.Token{AccessToken: "actor"}}
	tests := []struct {
		name  string
		tgt   exchange.Target
		field string // "" when valid
	}{
		{"scope", exchange.Target{Dialect: exchange.DialectEntraOBO, Scopes: []string{"api://orders/.default"}}, ""},
		{"no scope", exchange.Target{Dialect: exchange.DialectEntraOBO}, "Target.Scopes"},
		{"blank scope", exchange.Target{Dialect: exchange.DialectEntraOBO, Scopes: []string{" "}}, "Target.Scopes"},
		{"audience", exchange.Target{Dialect: exchange.DialectEntraOBO, Scopes: []string{"s/x"}, Audiences: []string{"api-a"}}, "Target.Audiences"},
		{"resource", exchange.Target{Dialect: exchange.DialectEntraOBO, Scopes: []string{"s/x"}, Resources: []string{"https://a.example/"}}, "Target.Resources"},
		{"actor", exchange.Target{Dialect: exchange.DialectEntraOBO, Scopes: []string{"s/x"}, Actor: actor}, "Target.Actor"},
		{"actor token type", exchange.Target{Dialect: exchange.DialectEntraOBO, Scopes: []string{"s/x"}, ActorTokenType: authority.TokenTypeJWT}, "Target.ActorTokenType"},
		{"subject token type", exchange.Target{Dialect: exchange.DialectEntraOBO, Scopes: []string{"s/x"}, SubjectTokenType: authority.TokenTypeJWT}, "Target.SubjectTokenType"},
		{"requested token type", exchange.Target{Dialect: exchange.DialectEntraOBO, Scopes: []string{"s/x"}, RequestedTokenType: authority.TokenTypeJWT}, "Target.RequestedTokenType"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.tgt.Prepare()
			if tt.field == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, exchange.ErrDialectField)
			assert.Contains(t, err.Error(), tt.field)
			assert.Contains(t, err.Error(), "entra-obo")
		})
	}
	_, err := exchange.Target{Dialect: 7, Scopes: []string{"s/x"}}.Prepare()
	require.ErrorContains(t, err, "unknown dialect 7")
}

func TestOnBehalfOfExchange(t *testing.T) {
	e := newEnv(t, exchange.Options{}, testutil.Options{}, nil)
	subject := authority.NewSubjectToken(e.subject("alice"))
	tok, err := e.x.Exchange(context.Background(), subject, oboTarget)
	require.NoError(t, err)
	c := claims(t, tok)
	assert.Equal(t, "alice", c.Subject())
	assert.Equal(t, []string{"api://orders"}, c.Audience())
	again, err := e.x.Exchange(context.Background(), subject, oboTarget)
	require.NoError(t, err)
	assert.Equal(t, tok.AccessToken, again.AccessToken, "cache hit")
	assert.Equal(t, 1, e.onBehalfOfs())
	assert.Zero(t, e.exchanges())
	st := e.x.Stats()
	assert.Equal(t, uint64(1), st.Hits)
	assert.Equal(t, uint64(1), st.Misses)
}

// TestDialectIsInTheKey: targets equal but for their dialect never share
// a token, in either order, and neither does the same subject on the
// other dialect's cache entry after an invalidation of one.
func TestDialectIsInTheKey(t *testing.T) {
	rfc := exchange.Target{Scopes: oboTarget.Scopes}
	for _, order := range [][]exchange.Target{{oboTarget, rfc}, {rfc, oboTarget}} {
		t.Run(fmt.Sprintf("%s first", order[0].Dialect), func(t *testing.T) {
			e := newEnv(t, exchange.Options{}, testutil.Options{}, nil)
			// No scope claim, so that RFC 8693 may ask for any scope.
			subject := authority.NewSubjectToken(e.a.IssueToken(testutil.TokenClaims{
				Subject: "alice", Audience: []string{clientID}, Expiry: e.clock.Now().Add(time.Hour),
			}))
			first, err := e.x.Exchange(context.Background(), subject, order[0])
			require.NoError(t, err)
			second, err := e.x.Exchange(context.Background(), subject, order[1])
			require.NoError(t, err)
			assert.NotEqual(t, first.AccessToken, second.AccessToken)
			assert.Equal(t, 1, e.onBehalfOfs())
			assert.Equal(t, 1, e.exchanges())
			for i, tgt := range order {
				tok, err := e.x.Exchange(context.Background(), subject, tgt)
				require.NoError(t, err)
				assert.Equal(t, []*authority.Token{first, second}[i].AccessToken, tok.AccessToken)
			}
			assert.Equal(t, 2, e.onBehalfOfs()+e.exchanges(), "both served from the cache")
		})
	}
}

// TestOnBehalfOfHerd: 1,000 callers for one new subject while the one
// On-Behalf-Of request is held at the authority's door: one request.
func TestOnBehalfOfHerd(t *testing.T) {
	g := &gate{base: http.DefaultTransport, arrived: make(chan struct{}, 1), release: make(chan struct{})}
	e := newEnv(t, exchange.Options{}, testutil.Options{}, &http.Client{Transport: g})
	subject := e.subject("alice")
	const callers = 1000
	var started, done sync.WaitGroup
	tokens := make([]*authority.Token, callers)
	errs := make([]error, callers)
	for i := range callers {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			started.Done()
			tokens[i], errs[i] = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), oboTarget)
		}()
	}
	<-g.arrived // the flight is at the authority
	started.Wait()
	close(g.release)
	done.Wait()
	for i := range callers {
		require.NoError(t, errs[i])
		require.Equal(t, tokens[0].AccessToken, tokens[i].AccessToken)
	}
	assert.Equal(t, 1, e.onBehalfOfs())
}

func TestOnBehalfOfRefreshAhead(t *testing.T) {
	e := newEnv(t, refreshOpts, testutil.Options{TokenLifetime: 5 * time.Minute}, nil)
	subject := authority.NewSubjectToken(e.subject("alice"))
	old, err := e.x.Exchange(context.Background(), subject, oboTarget)
	require.NoError(t, err)
	e.clock.Advance(refreshDue)
	tok, err := e.x.Exchange(context.Background(), subject, oboTarget)
	require.NoError(t, err)
	assert.Equal(t, old.AccessToken, tok.AccessToken, "the hit that starts the refresh gets the cached token")
	testutil.WaitFor(t, "the background refresh", func() bool {
		tok, err := e.x.Exchange(context.Background(), subject, oboTarget)
		require.NoError(t, err)
		return tok.AccessToken != old.AccessToken
	})
	assert.Equal(t, 2, e.onBehalfOfs(), "exactly one refresh")
	assert.Equal(t, uint64(1), e.x.Stats().Refreshes)
}

// TestOnBehalfOfRefusals: Entra ID's refusals come back as *authority.Error
// (its code and claims challenge intact), are remembered in the negative
// cache, and never carry the subject token.
func TestOnBehalfOfRefusals(t *testing.T) {
	e := newEnv(t, exchange.Options{}, testutil.Options{}, nil)
	e.a.RequireConsent("api://billing/.default")
	e.a.RequireStepUp("api://payroll/.default", "c1")
	wrongAud := e.a.IssueToken(testutil.TokenClaims{Subject: "bob", Audience: []string{"web"}, Expiry: e.clock.Now().Add(time.Hour)})
	user := e.subject("alice")
	tests := []struct {
		name    string
		subject string
		scope   string
		code    authority.ErrorCode
	}{
		{"assertion for another app", wrongAud, "api://orders/.default", authority.ErrInvalidGrant},
		{"consent", user, "api://billing/.default", authority.ErrConsentRequired},
		{"step-up", user, "api://payroll/.default", authority.ErrInteractionRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tgt := exchange.Target{Dialect: exchange.DialectEntraOBO, Scopes: []string{tt.scope}}
			before := e.onBehalfOfs()
			for range 2 {
				_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(tt.subject), tgt)
				require.ErrorIs(t, err, tt.code)
				noToken(t, err, tt.subject)
				var ae *authority.Error
				require.True(t, errors.As(err, &ae))
				if tt.code == authority.ErrInteractionRequired {
					assert.JSONEq(t, testutil.StepUpClaims("c1"), ae.Claims)
				}
			}
			assert.Equal(t, before+1, e.onBehalfOfs(), "the refusal is remembered")
		})
	}
}
