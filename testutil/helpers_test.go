package testutil

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// response is a decoded token-endpoint answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (r response) str(k string) string {
	s, _ := r.body[k].(string)
	return s
}

// reqOpt changes a token request before it is sent.
type reqOpt func(*http.Request)

func withBasic(id, secret string) reqOpt {
	return func(r *http.Request) {
		cred := url.QueryEscape(id) + ":" + url.QueryEscape(secret)
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cred)))
	}
}

func postToken(t *testing.T, a *Authority, form url.Values, opts ...reqOpt) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.TokenURL(), strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, o := range opts {
		o(req)
	}
	return do(t, a.Client(), req)
}

func do(t *testing.T, c *http.Client, req *http.Request) response {
	t.Helper()
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(raw, &out.body)
	}
	return out
}

// requireError asserts an RFC 6749 §5.2 error response.
func requireError(t *testing.T, r response, status int, code string) {
	t.Helper()
	require.Equal(t, status, r.status, "body: %s", r.raw)
	require.Equal(t, code, r.str("error"), "body: %s", r.raw)
	require.Equal(t, "no-store", r.header.Get("Cache-Control"))
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
}

// requireToken asserts a successful token response and returns the
// parsed (unverified) access token.
func requireToken(t *testing.T, r response) jwt.Token {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.raw)
	require.Equal(t, "Bearer", r.str("token_type"))
	require.Equal(t, "no-store", r.header.Get("Cache-Control"))
	tok, err := jwt.ParseInsecure([]byte(r.str("access_token")))
	require.NoError(t, err)
	return tok
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func claim(tok jwt.Token, name string) any {
	v, _ := tok.Get(name)
	return v
}

// headerKid returns the kid and typ of a compact JWS.
func headerKid(t *testing.T, token string) (kid, typ string) {
	t.Helper()
	msg, err := jws.Parse([]byte(token))
	require.NoError(t, err)
	h := msg.Signatures()[0].ProtectedHeaders()
	return h.KeyID(), h.Type()
}

// noLeak waits until no goroutine but those ignore allows runs, failing the
// test if some still run after a few rounds of goleak's own retries (each
// waits about a second for goroutines to end).
func noLeak(t *testing.T, ignore goleak.Option) {
	t.Helper()
	var err error
	for range 10 {
		if err = goleak.Find(ignore); err == nil {
			return
		}
	}
	t.Fatal(err)
}
