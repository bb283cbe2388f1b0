package outbound

import (
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
)

// NewReverseProxy returns a [httputil.ReverseProxy] that forwards each
// request to target over transport, normally a [*Transport]:
//
//   - its Rewrite calls [httputil.ProxyRequest.SetURL] with target, so
//     that the outgoing request goes to target's scheme and host, with the
//     target's path joined before the request's, and with the target's
//     Host (not the caller's, which [Transport] would refuse with
//     [ErrHostMismatch]), and [httputil.ProxyRequest.SetXForwarded], which
//     sets X-Forwarded-For, X-Forwarded-Host and X-Forwarded-Proto from the
//     inbound request;
//   - its ErrorHandler is [ErrorHandler](logger): a request the transport
//     refuses, or that the downstream does not answer, gets the status of
//     [StatusFor] and a small JSON body, and the error goes to logger (nil:
//     silent).
//
// The caller may change the returned proxy's other fields (FlushInterval,
// ModifyResponse, BufferPool, ...) before it serves its first request.
// Serve it behind the middleware's Bearer handler, so that the transport
// finds the caller's token in the request context.
//
// NewReverseProxy panics when target or transport is nil: a ReverseProxy
// with no transport would use [http.DefaultTransport] and forward the
// caller's token to target unchanged.
func NewReverseProxy(target *url.URL, transport http.RoundTripper, logger *slog.Logger) *httputil.ReverseProxy {
	if target == nil {
		panic("outbound: NewReverseProxy: nil target URL")
	}
	if isNil(transport) {
		panic("outbound: NewReverseProxy: nil transport (http.DefaultTransport would forward the caller's token unchanged)")
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport:    transport,
		ErrorHandler: ErrorHandler(logger),
	}
}
