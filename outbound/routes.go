package outbound

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
)

// origin is a destination's scheme, lower-case host (IPv6 without
// brackets) and explicit port.
type origin struct {
	scheme, host, port string
}

// route is the validated, precomputed form of a Route.
type route struct {
	name  string // the configured URL, for errors
	label string // Route.Name, or the URL: for metrics and logs
	// dest names the destination in refusal keys: mode, scheme, host,
	// port and prefix, the same on every replica with this route.
	dest     string
	origin   origin // scheme, lower-case host and port of the URL
	prefix   string // clean path prefix without trailing slash; "" matches all
	mode     Mode
	target   *exchange.Prepared
	exchange Exchanger
	// invalidator is exchange as an ExchangeInvalidator, or nil.
	invalidator ExchangeInvalidator
	tokens      authority.TokenSource
	actor       bool // the Target has an Actor
	// actorTokens is the Target's Actor, for refusalKey.
	actorTokens authority.TokenSource

	// last is the Authorization value of the last token sent, so that a
	// hot token is not copied into a new "Bearer " string per request.
	last atomic.Pointer[bearerValue]

	tel routeTelemetry // set by newTelemetry
}

// table maps an origin to its routes, longest prefix first. It is not
// modified after construction.
type table map[origin][]*route

// newTable validates routes and builds their table.
func newTable(routes []Route, x Exchanger) (table, error) {
	t := table{}
	for i, rt := range routes {
		o, r, err := compile(rt, x)
		if err != nil {
			return nil, fmt.Errorf("outbound: Routes[%d] (%q): %w", i, rt.URL, err)
		}
		r.origin = o
		r.dest = r.mode.String() + " " + o.scheme + "://" + o.host + ":" + o.port + r.prefix
		for _, other := range t[o] {
			if other.prefix == r.prefix {
				return nil, fmt.Errorf("outbound: Routes[%d] (%q): same destination as %q", i, rt.URL, other.name)
			}
			if asciiEqualFold(other.prefix, r.prefix) {
				return nil, fmt.Errorf("outbound: Routes[%d] (%q): same destination as %q for a server that ignores case", i, rt.URL, other.name)
			}
		}
		t[o] = append(t[o], r)
	}
	for _, rs := range t {
		slices.SortFunc(rs, func(a, b *route) int { return cmp.Compare(len(b.prefix), len(a.prefix)) })
	}
	return t, nil
}

// compile validates one route.
func compile(rt Route, x Exchanger) (origin, *route, error) {
	o, prefix, err := parseRouteURL(rt.URL)
	if err != nil {
		return o, nil, err
	}
	r := &route{name: rt.URL, label: cmp.Or(rt.Name, rt.URL), prefix: prefix, mode: rt.Mode}
	if rt.Mode != ModeExchange && (!isNil(rt.Exchanger) || !isZeroTarget(rt.Target)) {
		return o, nil, fmt.Errorf("Target and Exchanger are for %s routes only, not %s", ModeExchange, rt.Mode)
	}
	if rt.Mode != ModeOwnToken && !isNil(rt.Tokens) {
		return o, nil, fmt.Errorf("Tokens is for %s routes only, not %s", ModeOwnToken, rt.Mode)
	}
	switch rt.Mode {
	case ModeExchange:
		r.exchange = rt.Exchanger
		if isNil(r.exchange) {
			r.exchange = x
		}
		if isNil(r.exchange) {
			return o, nil, errors.New("exchange route without an Exchanger (set Route.Exchanger or Options.Exchanger)")
		}
		r.invalidator, _ = r.exchange.(ExchangeInvalidator)
		// An On-Behalf-Of target names its API by scope; Prepare checks it.
		if rt.Target.Dialect == exchange.DialectRFC8693 && len(rt.Target.Audiences) == 0 && len(rt.Target.Resources) == 0 {
			return o, nil, errors.New("Target names no audience or resource")
		}
		r.actor = rt.Target.Actor != nil
		r.actorTokens = rt.Target.Actor
		target := rt.Target
		if target.Name == "" {
			// The exchanger's metrics and spans name the route.
			target.Name = r.label
		}
		if r.target, err = target.Prepare(); err != nil {
			return o, nil, err
		}
	case ModeOwnToken:
		if isNil(rt.Tokens) {
			return o, nil, errors.New("own-token route without Tokens")
		}
		r.tokens = rt.Tokens
	case ModePassThrough, ModeNone:
	case 0:
		return o, nil, errors.New("Mode is required")
	default:
		return o, nil, fmt.Errorf("unknown %s", rt.Mode)
	}
	return o, r, nil
}

func isZeroTarget(t exchange.Target) bool {
	return len(t.Audiences) == 0 && len(t.Resources) == 0 && len(t.Scopes) == 0 &&
		t.RequestedTokenType == "" && t.SubjectTokenType == "" && t.Actor == nil && t.ActorTokenType == ""
}

// parseRouteURL splits a Route.URL into its origin and path prefix.
func parseRouteURL(raw string) (origin, string, error) {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return origin{}, "", errors.New("URL is required")
	case err != nil:
		return origin{}, "", errors.New("URL does not parse")
	case u.Scheme != "http" && u.Scheme != "https":
		return origin{}, "", errors.New(`URL scheme must be "http" or "https"`)
	case u.Opaque != "" || u.Hostname() == "":
		return origin{}, "", errors.New("URL has no host")
	case u.User != nil:
		return origin{}, "", errors.New("URL must not hold user info")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#"):
		return origin{}, "", errors.New("URL must not have a query or fragment")
	case strings.ContainsAny(u.Hostname(), "*"):
		return origin{}, "", errors.New("URL host must not hold a wildcard")
	case !isASCII(u.Hostname()):
		return origin{}, "", errors.New("URL host must be ASCII (use the punycode form of an internationalised name)")
	}
	o, ok := originOf(u)
	if !ok {
		return origin{}, "", errors.New("URL port is not a number")
	}
	prefix := u.Path
	if prefix != "" && prefix != "/" {
		if !strings.HasPrefix(prefix, "/") || path.Clean(prefix) != strings.TrimSuffix(prefix, "/") {
			return origin{}, "", errors.New("URL path is not clean (no //, . or .. segments)")
		}
		// A prefix is written as it is sent, so that the escaped reading
		// of a request path (see agree) selects it too.
		if strings.IndexByte(prefix, ';') >= 0 || u.EscapedPath() != prefix {
			return origin{}, "", errors.New(`URL path must not hold a ";", an escaped (percent-encoded) character or one that needs escaping, such as "\", "%" or a space`)
		}
	}
	return o, strings.TrimSuffix(prefix, "/"), nil
}
