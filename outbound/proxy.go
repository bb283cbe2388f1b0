package outbound

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// checkPlaintextProxy fails when base (nil: [http.DefaultTransport]) is an
// [*http.Transport] whose Proxy function sends the requests of a
// token-bearing "http" route (any mode but [ModeNone]) to a forward proxy:
// the proxy, a host the route table does not name, would read the token in
// clear text. An "https" route goes through a CONNECT tunnel, which the
// proxy cannot read. A Base of another type is not inspected. routes have
// been validated by newTable.
func checkPlaintextProxy(routes []Route, base http.RoundTripper) error {
	if base == nil {
		base = http.DefaultTransport
	}
	ht, ok := base.(*http.Transport)
	if !ok || ht.Proxy == nil {
		return nil
	}
	for i, rt := range routes {
		if rt.Mode == ModeNone {
			continue
		}
		u, err := url.Parse(rt.URL)
		if err != nil || u.Scheme != "http" {
			continue
		}
		// The route matches its host in any case: ask for the form
		// written and the lower-case one.
		proxy, err := proxyFor(ht, u)
		if err == nil && proxy == nil && u.Host != strings.ToLower(u.Host) {
			lower := *u
			lower.Host = strings.ToLower(u.Host)
			proxy, err = proxyFor(ht, &lower)
		}
		if err != nil {
			return fmt.Errorf("outbound: Routes[%d] (%q): the Proxy function of Base failed for this plain-HTTP route, so whether its token would reach a proxy in clear text is unknown: %w", i, rt.URL, err)
		}
		if proxy != nil {
			return fmt.Errorf("outbound: Routes[%d] (%q): Base would send this plain-HTTP route's requests, with their %s token in clear text, through the proxy %s, which the route table does not name; "+
				"use an https URL, or set Base to an *http.Transport whose Proxy is nil (or excludes this host, e.g. by NO_PROXY), or set Options.AllowPlaintextProxy to accept it",
				i, rt.URL, rt.Mode, proxy.Redacted())
		}
	}
	return nil
}

// proxyFor asks t's Proxy function for the proxy of a GET of u.
func proxyFor(t *http.Transport, u *url.URL) (*url.URL, error) {
	return t.Proxy(&http.Request{Method: http.MethodGet, URL: u, Host: u.Host, Header: http.Header{}})
}
