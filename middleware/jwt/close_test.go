package jwt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
)

// TestValidatorCloseStopsKeyFetch checks that Close ends a background key
// set refresh waiting for a slow server and returns once it has: no
// goroutine of the Validator outlives Close. Afterwards Validate still
// works with the keys it holds, and fetches nothing.
func TestValidatorCloseStopsKeyFetch(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	pub, err := jwk.FromRaw(&priv.PublicKey)
	require.NoError(t, err)
	require.NoError(t, pub.Set(jwk.KeyIDKey, "k1"))
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(pub))
	var fetches atomic.Int32
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fetches.Add(1) > 1 {
			arrived <- struct{}{}
			<-r.Context().Done() // a server that never answers a refresh
			return
		}
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(srv.Close)
	v, err := jwt.New(context.Background(), jwt.Config{
		Issuer: ownIssuer, JWKSURL: srv.URL, Audience: []string{"api"}, HTTPClient: srv.Client(),
		RefreshInterval: time.Nanosecond, // every Validate finds the keys stale
		FetchTimeout:    time.Hour,
	})
	require.NoError(t, err)
	signer, err := jws.NewSigner(jwa.ES256)
	require.NoError(t, err)
	sign := func(kid string) string {
		return craft(t, map[string]any{"alg": jwa.ES256, "kid": kid},
			map[string]any{"iss": ownIssuer, "aud": "api", "exp": time.Now().Add(time.Hour).Unix()},
			func(in []byte) []byte {
				sig, err := signer.Sign(in, priv)
				require.NoError(t, err)
				return sig
			})
	}
	tok := sign("k1")

	ignore := goleak.IgnoreCurrent()
	_, err = v.Validate(context.Background(), sub(tok))
	require.NoError(t, err, "stale keys keep serving")
	<-arrived // the background refresh is waiting for the server

	var wg sync.WaitGroup
	for range 3 { // concurrent Closes all return once the fetch has ended
		wg.Add(1)
		go func() { defer wg.Done(); v.Close() }()
	}
	wg.Wait()
	srv.Client().CloseIdleConnections()
	goleak.VerifyNone(t, ignore)

	_, err = v.Validate(context.Background(), sub(tok))
	require.NoError(t, err, "a closed Validator validates with the keys it holds")
	assert.Equal(t, int32(2), fetches.Load(), "and fetches nothing")
	_, err = v.Validate(context.Background(), sub(sign("k2")))
	require.ErrorIs(t, err, middleware.ErrUnknownKey, "an unknown kid starts no fetch either")
	assert.Equal(t, int32(2), fetches.Load())
	v.Close()
}
