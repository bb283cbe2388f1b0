package authority_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echoServer answers every token request with 403 and, as a WAF or a
// debug page does, the credential named by echo in the form it arrived
// in: the whole Authorization header, or one form parameter's value still
// form-encoded. Only the echoed value is written, so that the excerpt's
// length limit cannot hide it and no parameter name gives it away.
type echoServer struct {
	*httptest.Server
	mu          sync.Mutex // guards echo
	echo        string
	contentType string
}

func newEchoServer(t *testing.T, contentType string) *echoServer {
	e := &echoServer{contentType: contentType}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading the request: %v", err)
		}
		e.mu.Lock()
		name := e.echo
		e.mu.Unlock()
		var out string
		if name == "authorization" {
			out = r.Header.Get("Authorization")
		}
		for _, pair := range strings.Split(string(body), "&") {
			if k, v, _ := strings.Cut(pair, "="); k == name {
				out = v
			}
		}
		w.Header().Set("Content-Type", e.contentType)
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, "seen "+out)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *echoServer) setEcho(name string) {
	e.mu.Lock()
	e.echo = name
	e.mu.Unlock()
}

// TestEchoingServerLeaksNothing: no credential reaches the error in any of
// the forms it was sent in.
func TestEchoingServerLeaksNothing(t *testing.T) {
	const (
		secret   = "p@ss/w+rd=1 x"
		subject  = "opaque+subject/token=="
		actor    = "actor+token/value="
		password = "pass word+/="
		refresh  = "refresh+token/=="
	)
	fields := []string{"authorization", "client_secret", "client_assertion", "subject_token", "actor_token", "password", "refresh_token"}
	key := newECKey(t)
	for _, contentType := range []string{"text/plain", "text/html; charset=utf-8", "application/json"} {
		srv := newEchoServer(t, contentType)
		for _, method := range []authority.AuthMethod{authority.AuthClientSecretBasic, authority.AuthClientSecretPost, authority.AuthPrivateKeyJWT} {
			cfg := authority.Config{TokenURL: srv.URL + "/token", ClientID: "gate way", ClientSecret: secret, AuthMethod: method, HTTPClient: srv.Client()}
			if method == authority.AuthPrivateKeyJWT {
				cfg.Signer = key
			}
			c, err := authority.New(cfg)
			require.NoError(t, err)
			ctx := context.Background()
			calls := map[string]func() error{
				"exchange": func() error {
					_, err := c.Exchange(ctx, authority.ExchangeRequest{SubjectToken: subject, ActorToken: actor})
					return err
				},
				"password": func() error {
					_, err := c.Password(ctx, authority.PasswordRequest{Username: "alice", Password: password})
					return err
				},
				"refresh": func() error {
					_, err := c.Refresh(ctx, authority.RefreshRequest{RefreshToken: refresh})
					return err
				},
			}
			for name, call := range calls {
				for _, field := range fields {
					t.Run(fmt.Sprintf("%s/%s/%s/%s", contentType, method, name, field), func(t *testing.T) {
						srv.setEcho(field)
						err := call()
						var ae *authority.Error
						require.ErrorAs(t, err, &ae)
						for _, out := range []string{ae.Excerpt, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
							for _, s := range []string{secret, subject, actor, password, refresh, "p%40ss", "w%2Brd", "subject%2F", "token%2F", "actor%2B", "pass+word", "Basic ", "eyJ"} {
								assert.NotContains(t, out, s)
							}
						}
					})
				}
			}
		}
	}
}
