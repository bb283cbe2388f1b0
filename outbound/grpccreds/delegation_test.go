package grpccreds_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/grpcauth"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// actorChain returns the subjects of the nested act claims of c,
// outermost first (RFC 8693 §4.1).
func actorChain(t *testing.T, c *middleware.Claims) []string {
	type act struct {
		Sub string          `json:"sub"`
		Act json.RawMessage `json:"act"`
	}
	var top act
	require.NoError(t, c.Decode(&top))
	var chain []string
	for raw := top.Act; len(raw) > 0; {
		var a act
		require.NoError(t, json.Unmarshal(raw, &a))
		chain = append(chain, a.Sub)
		raw = a.Act
	}
	return chain
}

// relay is B's health service: its Check calls C's, on behalf of the
// caller, with the call's context.
type relay struct {
	healthpb.UnimplementedHealthServer
	next healthpb.HealthClient
}

func (r *relay) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	return r.next.Check(ctx, req)
}

// TestDelegationChain: a user calls A over HTTP; A calls B over gRPC, B
// calls C over gRPC, each exchanging what it received with its own token
// as actor. C sees the user as sub and B, then A, as actors. Several users
// call at once; each hop exchanges once per user.
func TestDelegationChain(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	a.AddClient(testutil.Client{ID: "A", Secret: "secret-of-A", ExchangeAudiences: []string{"B"}})
	a.AddClient(testutil.Client{ID: "B", Secret: "secret-of-B", ExchangeAudiences: []string{"C"}})

	type seenByC struct {
		sub, aud string
		act      []string
	}
	var (
		mu   sync.Mutex
		seen []seenByC
	)
	cAuth := grpcauth.Options{Validator: newJWT(t, a, "C")}
	// C: behind grpcauth, recording the claims each call carried.
	cSrv := startClaimsServer(t, cAuth, func(cl *middleware.Claims) {
		mu.Lock()
		defer mu.Unlock()
		var aud struct {
			Aud []string `json:"aud"`
		}
		_ = cl.Decode(&aud)
		seen = append(seen, seenByC{sub: cl.Subject, aud: fmt.Sprint(aud.Aud), act: actorChain(t, cl)})
	})

	// B: behind grpcauth, relaying to C with B's credentials.
	clientB := newClient(t, a, "B", "secret-of-B")
	trB, err := outbound.New(outbound.Options{Routes: []outbound.Route{{URL: cSrv.routeURL(), Mode: outbound.ModeExchange,
		Exchanger: newExchanger(t, clientB),
		Target:    exchange.Target{Audiences: []string{"C"}, Actor: exchangeFreeSource(clientB)}}}})
	require.NoError(t, err)
	toC, _ := cSrv.dial(t, trB)
	b := startServer(t, grpcauth.Options{Validator: newJWT(t, a, "B")}, &relay{next: toC})

	// A: an HTTP service behind the middleware, calling B with A's credentials.
	clientA := newClient(t, a, "A", "secret-of-A")
	trA, err := outbound.New(outbound.Options{Routes: []outbound.Route{{URL: b.routeURL(), Mode: outbound.ModeExchange,
		Exchanger: newExchanger(t, clientA),
		Target:    exchange.Target{Audiences: []string{"B"}, Actor: authority.NewCachedSource(clientA, authority.ClientCredentialsRequest{}, authority.CachedSourceOptions{})}}}})
	require.NoError(t, err)
	toB, _ := b.dial(t, trA)
	httpA := httptest.NewServer(middleware.Bearer(middleware.Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := toB.Check(r.Context(), &healthpb.HealthCheckRequest{}); err != nil {
			http.Error(w, status.Convert(err).Message(), http.StatusBadGateway)
		}
	})))
	t.Cleanup(httpA.Close)

	users := []string{"alice", "bob", "carol"}
	var wg sync.WaitGroup
	for _, user := range users {
		tok := a.UserToken(user, "web", "A")
		for range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodGet, httpA.URL, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := http.DefaultClient.Do(req)
				if !assert.NoError(t, err) {
					return
				}
				_ = resp.Body.Close()
				assert.Equal(t, http.StatusOK, resp.StatusCode)
			}()
		}
	}
	wg.Wait()
	http.DefaultClient.CloseIdleConnections()

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, len(users)*5)
	for _, s := range seen {
		assert.Contains(t, users, s.sub, "C sees the user who made the call")
		assert.Equal(t, []string{"B", "A"}, s.act)
		assert.Equal(t, "[C]", s.aud)
	}
	for _, user := range users {
		assert.Equal(t, 2, a.ExchangesFor(user), "one exchange per hop per user")
	}
}

// startClaimsServer is startServer whose handler side also hands the
// validated claims of every call to got.
func startClaimsServer(t *testing.T, opts grpcauth.Options, got func(*middleware.Claims)) *grpcServer {
	t.Helper()
	return startServerWith(t, opts, nil, nil, func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if cl, ok := middleware.ClaimsFromContext(ctx); ok {
			got(cl)
		}
		return h(ctx, req)
	})
}
