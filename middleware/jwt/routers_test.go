package jwt_test

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// routers builds the same protected route, GET /resource, on every router
// the middleware must serve (as package middleware's tests do).
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
