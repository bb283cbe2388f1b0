// Package outbound puts the right token on every outbound HTTP request.
//
// A gateway exchanges each caller's token for one issued for the backend
// and forwards the request:
//
//	x, err := exchange.New(client, exchange.Options{}) // client: an *authority.Client
//	if err != nil { ... }
//	defer x.Close()
//	tr, err := outbound.New(outbound.Options{
//		Exchanger: x,
//		Routes: []outbound.Route{{
//			URL:    "https://orders.internal/api",
//			Mode:   outbound.ModeExchange,
//			Target: exchange.Target{Audiences: []string{"orders"}},
//		}},
//	})
//	if err != nil { ... }
//	backend, _ := url.Parse("https://orders.internal")
//	proxy := outbound.NewReverseProxy(backend, tr, logger)
//	http.Handle("/api/", middleware.Bearer(middleware.Options{})(proxy))
//
// A handler that calls out itself uses an [http.Client] over the same
// transport, with a request built from the inbound request's context, and
// answers a failure with [WriteError]:
//
//	api := &http.Client{Transport: tr}
//	req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, "https://orders.internal/api/orders/42", nil)
//	resp, err := api.Do(req)
//	if err != nil {
//		outbound.WriteError(w, r, err) // 401, 403, 502, 503, ... as StatusFor says
//		return
//	}
//
// A [Transport] is an [http.RoundTripper] configured by a route table. Each
// [Route] names a destination (scheme, host, port and an optional path
// prefix) and the token it gets ([Mode]):
//
//   - [ModeExchange]: the inbound caller's token (the subject token, placed
//     in the request context by the middleware package or by
//     middleware.NewContext) exchanged for a token issued for the route's
//     [exchange.Target] (RFC 8693) by an [Exchanger], normally an
//     [*exchange.Exchanger], from its cache when it holds one.
//   - [ModeOwnToken]: the service's own token from an [authority.TokenSource], such as
//     an [authority.CachedSource] with the client credentials grant.
//   - [ModePassThrough]: the inbound token itself, unchanged.
//   - [ModeNone]: no token.
//
// The transport fails closed: a request whose URL no route names gets no
// token and fails with [ErrNoRoute] (unless [Options.AllowUnrouted], which
// sends it without any Authorization header). The token is added to a copy
// of the request, never to the caller's request, so an [http.Client]
// following a redirect starts again from the caller's headers and the
// transport decides afresh for the new destination: a redirect to a host
// no route names carries no token.
//
// A route is chosen by the request's URL, and the request must not be able
// to reach anything else:
//
//   - On an origin with path-prefix routes, a path is sent only when every
//     plausible reading of it by the server or a proxy in front of it
//     selects the same route as the path itself (or all select none): the
//     path as sent (undecoded), decoded once more (double encoding), cut at
//     a decoded "?", "#" or NUL, with "\" read as "/", with ";params"
//     stripped, cleaned ("//", "." and ".." resolved), ignoring ASCII
//     case, with ſ, K (Kelvin), İ and ı read as s, k, i and i (Java's
//     equalsIgnoreCase), with the compatibility forms of ASCII characters
//     read as those (NFKC normalisation, Windows best-fit mapping:
//     full-width "．", "／", "＼", "％" and letters, "‥", "∕", "⁄", "∖",
//     "¥", ...), with trailing dots and spaces stripped from each
//     segment (Windows, IIS), and with tabs and newlines dropped (the
//     WHATWG URL parser). Otherwise it is refused with [ErrAmbiguousPath]
//     (400 from [StatusFor]). "https://ingress/billing/..%2Forders/x" is
//     not sent at all, rather than sent with the billing or the orders
//     token, while
//     "/api/v4/projects/group%2Fproject", "/items;jsessionid=..." or
//     "/files/report%2E2024.pdf" go to their route, and so does
//     "/files/v1." when its segment "v1." is not a route's. A path with
//     no "%", "\", ";", "//", control character or byte outside ASCII,
//     and no segment ending in "." or " ", needs no other reading and
//     costs nothing extra. An origin whose only route has no prefix takes
//     any path: its token is the same for all. "OPTIONS *" takes the route
//     without a prefix. Any other opaque URL is refused on a routed origin.
//     Route prefixes themselves must be written as sent: no ";", no
//     percent-encoding and no character that needs it.
//   - A Host header naming another host or port than the URL is refused
//     with [ErrHostMismatch] (502), as set by a Director-based
//     [net/http/httputil.ReverseProxy] such as NewSingleHostReverseProxy;
//     use [NewReverseProxy], whose Rewrite calls SetURL, which sets the
//     URL's Host. So is a routed request with a field named Host, in any
//     case, in its Header or Trailer map (net/http writes a non-canonical
//     one as a second Host line).
//   - A host outside ASCII matches no route (the dialer would look up its
//     punycode form, another name); a route must name such a host in
//     punycode.
//
// An Authorization header the caller set on a routed request is sent
// unchanged, unless it only repeats the subject token (as a reverse proxy
// copies it), in which case the route's token replaces it; see
// [Transport].
//
// A downstream 401 makes the transport drop the token it sent (from the
// exchanger's cache or the TokenSource), take a fresh one and resend the
// request once, when its body can be replayed. When no fresh token can be
// had because the authority failed or refused, the 401 is discarded and
// the [*TokenError] returned instead, so that an authority outage reaches
// the caller as 503, not as a 401 blaming its token. When the downstream
// refuses the fresh token too (a wrong audience), the transport remembers
// it for the route and subject for [Options.RefusalWindow] (30 seconds by
// default): within that window their 401s are passed on as they are,
// with no new token and no resend, so that a misconfigured downstream
// does not turn every request into an exchange. [Transport.Stats] counts
// retries and refusals. The replicas of a gateway share their windows
// through an [Options.RefusalMemory] (the example gateway keeps it in
// Redis), asked only on the path of a 401: a window one replica opened
// holds for all, so the replicas do not multiply the exchanges it saves.
//
// A route that needs the caller's token ([ModeExchange],
// [ModePassThrough]) finds it in the request's context. A caller the
// middleware let through without a token ([ErrNoSubjectToken]) is
// answered 401; a request whose context never went through the middleware
// ([ErrNoInboundContext]: the handler built it with context.Background()
// rather than r.Context()) is a programming error, logged at Error and
// answered 500.
//
// Failures to obtain a token are [*TokenError] values wrapping the
// exchange or authority error; a refusal by the route table is a
// [*RouteError]. [StatusFor] maps any error the transport returns to the
// status a gateway should answer with, [WriteError] writes that answer,
// and [ErrorHandler] logs the error and writes it; it fits the
// ErrorHandler of [net/http/httputil.ReverseProxy], and [NewReverseProxy]
// installs it. No token appears in an error, a log line or a response
// written by this package.
//
// # Telemetry
//
// A Transport counts, through the OpenTelemetry metric API, to
// [Options.MeterProvider] (the global provider when nil: a no-op until
// the application installs one), with the meter
// "github.com/go-tokenexchange/tokenexchange/outbound":
//
//   - tokenexchange.outbound.retries (int64 counter, "{retry}";
//     tokenexchange.route, tokenexchange.outcome): downstream 401 answers
//     to a request sent with a token, by what became of them: resent
//     (once, with a fresh token), passed_on (within a refusal window, or
//     the one that opened it when the token source had no other token)
//     or no_body (passed on because the body could not be replayed: no
//     GetBody, or GetBody failed).
//   - tokenexchange.outbound.refusal_windows (int64 counter, "{window}";
//     tokenexchange.route): refusal windows begun (see
//     [Options.RefusalWindow]).
//   - tokenexchange.outbound.errors (int64 counter, "{request}";
//     tokenexchange.route when a route matched, tokenexchange.reason):
//     requests the transport refused or could not get a token for, by
//     reason: no_route, ambiguous_path, host_mismatch, no_subject_token,
//     no_inbound_context, exchange (the [Exchanger] failed), token_source
//     (the route's [authority.TokenSource] failed) or other.
//   - tokenexchange.outbound.refusal_memory.calls (int64 counter,
//     "{call}"; tokenexchange.operation, tokenexchange.outcome): calls to
//     the [Options.RefusalMemory]: recall (hit: another transport's
//     window is open, miss, or error) and remember (ok or error).
//
// The route attribute is [Route.Name], or the route's URL as configured
// when it has none; the Name is also the [exchange.Target] Name of an
// exchange route whose Target has none, so that the exchanger's metrics
// and spans are named by route. [Transport.Stats] counts the same
// retries and windows for programs without OpenTelemetry. A request that
// gets its token and an answer other than 401 records nothing: the
// attribute sets are made once per route by [New], and the success path
// is what it was. The transport starts no span (the application's HTTP
// client instrumentation, such as otelhttp, owns the client span), but
// the exchange it asks for runs in the request's context, so the
// exchanger's spans are children of the caller's.
package outbound
