package gateway

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-tokenexchange/tokenexchange/exchange"
)

// AccessLog wraps the gateway's router: it writes one line per request
// at Info through the gateway's logger, with exactly these fields:
//
//   - method: the request's method (GET, POST, ... or "other" for a
//     method outside the standard ones);
//   - route: the service name for /api/SERVICE/... when SERVICE is a
//     configured route, "healthz", "readyz", "metrics" or "summary" for
//     those endpoints, "unmatched" for anything else;
//   - status: the status answered;
//   - duration: the time from the request to the handler's return;
//   - cache: how the request's last token exchange found its token
//     (exchange.Lookup: "hit", "refresh_ahead", "negative_hit", "miss",
//     "coalesced"), or "none" when it made none; for /summary, which
//     exchanges once per service concurrently, the one that ended last.
//
// Nothing else of the request is logged: no path, no query string, no
// header, no token. When the logger does not write Info (-log-level warn
// or error), AccessLog adds nothing to the request at all. Both example
// routers get it from [Run]; mount it yourself around a router you serve
// otherwise.
func (g *Gateway) AccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if !g.log.Enabled(ctx, slog.LevelInfo) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		var lookup exchange.LookupRecorder
		sw := &statusWriter{ResponseWriter: w}
		// Deferred, so that a request the reverse proxy aborts (a
		// downstream that broke off its answer) is logged too.
		defer func() {
			status := sw.status
			if status == 0 {
				status = http.StatusOK // nothing written: net/http answers 200
			}
			g.log.LogAttrs(ctx, slog.LevelInfo, "request",
				slog.String("method", methodName(r.Method)),
				slog.String("route", g.routeName(r.URL.Path)),
				slog.Int("status", status),
				slog.Duration("duration", time.Since(start)),
				slog.String("cache", lookup.Last().String()),
			)
		}()
		next.ServeHTTP(sw, r.WithContext(exchange.ContextWithLookupRecorder(ctx, &lookup)))
	})
}

// routeName names the route of path for the access log: a configured
// service name, a fixed endpoint name, or "unmatched". It never returns
// text from the request that the configuration does not hold.
func (g *Gateway) routeName(path string) string {
	switch path {
	case "/healthz":
		return "healthz"
	case "/readyz":
		return "readyz"
	case "/metrics":
		return "metrics"
	case "/summary":
		return "summary"
	}
	if rest, ok := strings.CutPrefix(path, apiPrefix); ok {
		svc, _, _ := strings.Cut(rest, "/")
		if g.services[svc] {
			return svc
		}
	}
	return "unmatched"
}

// methodName returns m when it is a standard method, else "other": the
// method is text from the network.
func methodName(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "other"
}

// statusWriter records the status a handler answers with. Unwrap lets
// http.ResponseController (which the reverse proxy uses to flush a
// streaming answer) reach the connection's writer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Flush implements http.Flusher for handlers that test for it.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
