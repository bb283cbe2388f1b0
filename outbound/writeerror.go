package outbound

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
)

// WriteError answers a request whose outbound call failed with err: the
// status and headers of [StatusFor] and a small JSON body
// {"error": ..., "error_description": ...} that says nothing about the
// token, the authority's reply or err itself. It logs nothing; use
// [ErrorHandler] to log the error as well. It is the one call a handler
// needs after an [http.Client] over a [Transport] failed:
//
//	resp, err := api.Do(req)
//	if err != nil {
//		outbound.WriteError(w, r, err)
//		return
//	}
//
// The "error" member is missing_token, invalid_token or
// insufficient_claims (401),
// access_denied (403), invalid_request (400), server_error (500),
// temporarily_unavailable (503), gateway_timeout (504) or bad_gateway
// (502). Headers already set on w are kept, except Content-Type,
// Cache-Control and X-Content-Type-Options, which it sets. r is not
// read; it may be nil.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	status, h := StatusFor(err)
	dst := w.Header()
	for k, v := range h {
		dst[k] = v
	}
	dst.Set("Content-Type", "application/json")
	dst.Set("Cache-Control", "no-store")
	dst.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":"` + errorCode(status, h) + `","error_description":"` + http.StatusText(status) + `"}` + "\n"))
}

// ErrorHandler returns a function that logs err and answers with
// [WriteError]. The error goes to logger at Debug level for a canceled
// context (the caller has gone), at Error level for a 500 (a programming
// error, such as [ErrNoInboundContext]), and at Warn level otherwise, with
// the request's method, host and path but not its headers or query; nil
// logger means silent. Errors from this package and the authority never
// contain a token.
//
// Its signature fits the ErrorHandler of
// [net/http/httputil.ReverseProxy] ([NewReverseProxy] installs it); a
// service calling out with an [http.Client] may call it with the error of
// Do.
func ErrorHandler(logger *slog.Logger) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		if logger != nil {
			status, _ := StatusFor(err)
			level := slog.LevelWarn
			switch {
			case errors.Is(err, context.Canceled):
				level = slog.LevelDebug
			case status == http.StatusInternalServerError:
				level = slog.LevelError
			}
			attrs := []slog.Attr{slog.Int("status", status), slog.Any("error", err)}
			if r != nil && r.URL != nil {
				attrs = append(attrs, slog.String("method", r.Method), slog.String("host", r.URL.Host), slog.String("path", r.URL.Path))
			}
			logger.LogAttrs(contextOf(r), level, "outbound: request failed", attrs...)
		}
		WriteError(w, r, err)
	}
}

// errorCode is the "error" member of the JSON body written for status and
// its headers h.
func errorCode(status int, h http.Header) string {
	switch status {
	case http.StatusUnauthorized:
		if h.Get("WWW-Authenticate") == challengeMissing {
			return "missing_token"
		}
		if strings.Contains(h.Get("WWW-Authenticate"), `error="insufficient_claims"`) {
			return "insufficient_claims"
		}
		return "invalid_token"
	case http.StatusForbidden:
		return "access_denied"
	case http.StatusServiceUnavailable:
		return "temporarily_unavailable"
	case http.StatusGatewayTimeout:
		return "gateway_timeout"
	case http.StatusBadRequest:
		return "invalid_request"
	case http.StatusInternalServerError:
		return "server_error"
	}
	return "bad_gateway"
}

func contextOf(r *http.Request) context.Context {
	if r == nil {
		return context.Background()
	}
	return r.Context()
}
