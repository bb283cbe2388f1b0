package middleware_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// routers builds the same protected route, GET /resource, on every router the
// middleware must serve.
var routers = map[string]func(mw func(http.Handler) http.Handler) http.Handler{
	"chi": func(mw func(http.Handler) http.Handler) http.Handler {
		r := chi.NewRouter()
		r.Use(mw)
		r.Get("/resource", echoToken)
		return r
	},
	"servemux": func(mw func(http.Handler) http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("GET /resource", mw(http.HandlerFunc(echoToken)))
		return mux
	},
}

// echoToken answers with the token the middleware stored, or "anonymous".
func echoToken(w http.ResponseWriter, r *http.Request) {
	tok, ok := middleware.TokenFromContext(r.Context())
	if !ok {
		tok = "anonymous"
	}
	_, _ = w.Write([]byte(tok))
}

type headerCase struct {
	name       string
	headers    []string // Authorization values; nil means none
	query      string
	wantStatus int
	wantBody   string // for 200
	wantErr    error  // the sentinel OnRefusal must see
	wantCode   string // RFC 6750 error code, "" for none
}

var headerCases = []headerCase{
	{name: "good", headers: []string{"Bearer abc.def-ghi"}, wantStatus: 200, wantBody: "abc.def-ghi"},
	{name: "lowercase scheme", headers: []string{"bearer abc"}, wantStatus: 200, wantBody: "abc"},
	{name: "extra spaces between scheme and token", headers: []string{"Bearer   abc"}, wantStatus: 200, wantBody: "abc"},
	{name: "trailing space", headers: []string{"Bearer abc "}, wantStatus: 400, wantErr: middleware.ErrMalformedHeader, wantCode: "invalid_request"},
	{name: "two headers", headers: []string{"Bearer abc", "Bearer def"}, wantStatus: 400, wantErr: middleware.ErrMultipleHeaders, wantCode: "invalid_request"},
	{name: "missing", wantStatus: 401, wantErr: middleware.ErrMissingToken},
	{name: "empty", headers: []string{""}, wantStatus: 400, wantErr: middleware.ErrMalformedHeader, wantCode: "invalid_request"},
	{name: "another scheme", headers: []string{"Basic dXNlcjpwYXNz"}, wantStatus: 401, wantErr: middleware.ErrUnsupportedScheme},
	{name: "bad characters", headers: []string{"Bearer abc$def"}, wantStatus: 400, wantErr: middleware.ErrMalformedHeader, wantCode: "invalid_request"},
	{name: "oversize", headers: []string{"Bearer " + strings.Repeat("a", middleware.DefaultMaxTokenSize+1)}, wantStatus: 400, wantErr: middleware.ErrTokenTooLarge, wantCode: "invalid_request"},
	{name: "token in query", query: "access_token=abc", wantStatus: 400, wantErr: middleware.ErrTokenInQuery, wantCode: "invalid_request"},
	{name: "token in query, escaped name", headers: []string{"Bearer abc"}, query: "x=1&access%5Ftoken=abc", wantStatus: 400, wantErr: middleware.ErrTokenInQuery, wantCode: "invalid_request"},
	{name: "other query", headers: []string{"Bearer abc"}, query: "access_token_hint=1&q=access_token", wantStatus: 200, wantBody: "abc"},
}

func TestBearerHeaders(t *testing.T) {
	for routerName, build := range routers {
		for _, tc := range headerCases {
			t.Run(routerName+"/"+tc.name, func(t *testing.T) {
				var refused error
				h := build(middleware.Bearer(middleware.Options{
					OnRefusal: func(_ *http.Request, err error) { refused = err },
				}))
				req := httptest.NewRequest(http.MethodGet, "/resource?"+tc.query, nil)
				for _, v := range tc.headers {
					req.Header.Add("Authorization", v)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)

				require.Equal(t, tc.wantStatus, rec.Code)
				if tc.wantStatus == http.StatusOK {
					assert.Equal(t, tc.wantBody, rec.Body.String())
					assert.Nil(t, refused)
					return
				}
				require.ErrorIs(t, refused, tc.wantErr)
				var e *middleware.Error
				require.ErrorAs(t, refused, &e)
				assert.Equal(t, tc.wantCode, e.Code)
				assert.Equal(t, tc.wantStatus, e.Status)

				challenge := rec.Header().Get("WWW-Authenticate")
				assert.True(t, strings.HasPrefix(challenge, `Bearer realm="api"`), challenge)
				for _, v := range tc.headers {
					if tok, ok := strings.CutPrefix(v, "Bearer "); ok && len(tok) > 2 {
						assert.NotContains(t, rec.Body.String(), tok)
						assert.NotContains(t, challenge, tok)
						assert.NotContains(t, refused.Error(), tok)
					}
				}
				if tc.wantCode == "" {
					assert.Equal(t, `Bearer realm="api"`, challenge, "no error code without credentials (RFC 6750 §3.1)")
					assert.Zero(t, rec.Body.Len())
					return
				}
				assert.Contains(t, challenge, `error="`+tc.wantCode+`"`)
				assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
				var body map[string]string
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
				assert.Equal(t, tc.wantCode, body["error"])
				assert.NotEmpty(t, body["error_description"])
			})
		}
	}
}

func TestBearerOverRealServer(t *testing.T) {
	for routerName, build := range routers {
		t.Run(routerName, func(t *testing.T) {
			srv := httptest.NewServer(build(middleware.Bearer(middleware.Options{Realm: "gateway"})))
			t.Cleanup(srv.Close)

			req, err := http.NewRequest(http.MethodGet, srv.URL+"/resource", nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer  tok_123")
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)

			resp2, err := srv.Client().Get(srv.URL + "/resource")
			require.NoError(t, err)
			defer resp2.Body.Close()
			assert.Equal(t, http.StatusUnauthorized, resp2.StatusCode)
			assert.Equal(t, `Bearer realm="gateway"`, resp2.Header.Get("WWW-Authenticate"))
		})
	}
}

func TestBearerOptional(t *testing.T) {
	h := middleware.Bearer(middleware.Options{Optional: true})(http.HandlerFunc(echoToken))
	for _, tc := range []struct {
		name   string
		header []string
		status int
		body   string
	}{
		{"absent is anonymous", nil, 200, "anonymous"},
		{"present is used", []string{"Bearer abc"}, 200, "abc"},
		{"empty is refused", []string{""}, 400, ""},
		{"other scheme is refused", []string{"Basic abc"}, 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			for _, v := range tc.header {
				req.Header.Add("Authorization", v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, tc.status, rec.Code)
			if tc.body != "" {
				assert.Equal(t, tc.body, rec.Body.String())
			}
		})
	}
}

func TestBearerRefusesParsedFormToken(t *testing.T) {
	h := middleware.Bearer(middleware.Options{})(http.HandlerFunc(echoToken))
	form := url.Values{"access_token": {"abc"}}
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer abc")
	require.NoError(t, req.ParseForm()) // an earlier middleware parsed the body
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusBadRequest, rec.Code)

	// An unparsed body is not read: the handler still gets all of it.
	var got string
	h = middleware.Bearer(middleware.Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = string(b)
	}))
	req = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer abc")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, form.Encode(), got)
}

func TestBearerCustomResponder(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	h := middleware.Bearer(middleware.Options{
		MaxTokenSize: 4,
		ErrorResponder: func(w http.ResponseWriter, _ *http.Request, err error) {
			mu.Lock()
			calls = append(calls, "respond")
			mu.Unlock()
			var e *middleware.Error
			if errors.As(err, &e) {
				http.Error(w, e.Code, http.StatusTeapot)
			}
		},
		OnRefusal: func(*http.Request, error) {
			mu.Lock()
			calls = append(calls, "log")
			mu.Unlock()
		},
	})(http.HandlerFunc(echoToken))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer abcde")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusTeapot, rec.Code)
	assert.Equal(t, []string{"log", "respond"}, calls)
}

func TestBearerPanicsOnMisuse(t *testing.T) {
	assert.PanicsWithValue(t, "middleware: Options.MaxTokenSize must not be negative", func() {
		middleware.Bearer(middleware.Options{MaxTokenSize: -1})
	})
	assert.Panics(t, func() { middleware.Bearer(middleware.Options{RequiredScopes: []string{"read"}}) })
	assert.Panics(t, func() { middleware.Bearer(middleware.Options{})(nil) })
}

func TestWriteErrorForeignError(t *testing.T) {
	rec := httptest.NewRecorder()
	middleware.WriteError(rec, "api", errors.New("secret detail"))
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.NotContains(t, rec.Body.String(), "secret")
	assert.Contains(t, rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`)
}

// An *Error built without a Status (by a custom responder or CheckClaims) gets
// the status of its code instead of a WriteHeader panic.
func TestWriteErrorZeroStatus(t *testing.T) {
	for code, want := range map[string]int{
		middleware.CodeInvalidRequest:    http.StatusBadRequest,
		middleware.CodeInvalidToken:      http.StatusUnauthorized,
		middleware.CodeInsufficientScope: http.StatusForbidden,
		"":                               http.StatusUnauthorized,
		"something_else":                 http.StatusUnauthorized,
	} {
		for _, status := range []int{0, -1, 42, 1000} {
			rec := httptest.NewRecorder()
			require.NotPanics(t, func() {
				middleware.WriteError(rec, "api", &middleware.Error{Code: code, Description: "d", Status: status})
			})
			assert.Equal(t, want, rec.Code, "code %q status %d", code, status)
		}
	}
	rec := httptest.NewRecorder()
	middleware.WriteError(rec, "api", &middleware.Error{Code: middleware.CodeInvalidToken, Status: http.StatusTeapot})
	assert.Equal(t, http.StatusTeapot, rec.Code, "a valid Status is kept")
}

// OnRefusal sees the request with its credentials redacted; the responder and
// the caller's request keep theirs.
func TestOnRefusalRedacted(t *testing.T) {
	const secret = "s3cr3t-t0ken-value"
	var logged *http.Request
	var responderAuth []string
	h := middleware.Bearer(middleware.Options{
		OnRefusal: func(r *http.Request, _ error) { logged = r },
		ErrorResponder: func(w http.ResponseWriter, r *http.Request, err error) {
			responderAuth = r.Header.Values("Authorization")
			middleware.WriteError(w, "api", err)
		},
	})(http.HandlerFunc(echoToken))

	for _, tc := range []struct {
		name   string
		target string
		auth   []string
		form   url.Values
	}{
		{name: "malformed header", target: "/r?x=1", auth: []string{"Bearer " + secret + " extra"}},
		{name: "two headers", target: "/r", auth: []string{"Bearer " + secret, "Bearer " + secret + "2"}},
		{name: "basic", target: "/r", auth: []string{"Basic " + secret}},
		{name: "query", target: "/r?a=1&access_token=" + secret + "&b=2", auth: []string{"Bearer " + secret}},
		{name: "query without header", target: "/r?access_token=" + secret + ";x"},
		{name: "form", target: "/r", form: url.Values{"access_token": {secret}, "q": {"1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logged, responderAuth = nil, nil
			req := httptest.NewRequest(http.MethodPost, tc.target, nil)
			for _, a := range tc.auth {
				req.Header.Add("Authorization", a)
			}
			req.Header.Set("X-Request-Id", "r1")
			if tc.form != nil {
				req.PostForm, req.Form = tc.form, tc.form
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.NotEqual(t, http.StatusOK, rec.Code)
			require.NotNil(t, logged)

			if len(tc.auth) > 0 {
				assert.Equal(t, []string{"Bearer [redacted]"}, logged.Header.Values("Authorization"))
			} else {
				assert.Empty(t, logged.Header.Values("Authorization"))
			}
			assert.Equal(t, "r1", logged.Header.Get("X-Request-Id"))
			for _, s := range []string{logged.URL.String(), logged.RequestURI, logged.Form.Encode(), logged.PostForm.Encode(), strings.Join(logged.Header.Values("Authorization"), ",")} {
				assert.NotContains(t, s, secret)
			}
			assert.Equal(t, req.Context(), logged.Context())
			assert.Equal(t, req.Method, logged.Method)
			assert.Equal(t, req.URL.Path, logged.URL.Path)

			// The real request is untouched.
			assert.Equal(t, tc.auth, req.Header.Values("Authorization"))
			if len(tc.auth) > 0 {
				assert.Equal(t, tc.auth, responderAuth)
			}
			if tc.form != nil {
				assert.Equal(t, secret, req.PostForm.Get("access_token"))
			}
		})
	}
}
