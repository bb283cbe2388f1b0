package gateway

import (
	"cmp"
	"log/slog"
	"net/http"

	"go.opentelemetry.io/otel/metric"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/outbound"
)

// newTransport builds the outbound transport from the route table: one
// outbound route per gateway route, naming the downstream URL plus the
// route's prefix, since the gateway keeps the whole path.
//
// Each route is named by its service, in the transport's metrics
// (outbound.Route.Name) and in the exchanger's (exchange.Target.Name).
//
// mem, when not nil, shares the transport's refusal windows with the
// other replicas.
func newTransport(cfg Config, client *authority.Client, x *exchange.Exchanger, mem outbound.RefusalMemory, logger *slog.Logger, mp metric.MeterProvider) (*outbound.Transport, error) {
	var actor *authority.CachedSource // the gateway's own token, made on first need
	routes := make([]outbound.Route, 0, len(cfg.Routes))
	for _, r := range cfg.Routes {
		or := outbound.Route{URL: r.URL.String() + r.Prefix, Name: r.Service}
		switch r.Mode {
		case ModeExchange:
			or.Mode = outbound.ModeExchange
			or.Target = cfg.exchangeTarget(r)
			if r.Actor {
				if actor == nil {
					actor = authority.NewCachedSource(client, authority.ClientCredentialsRequest{}, authority.CachedSourceOptions{})
				}
				or.Target.Actor = actor
			}
		case ModeClient:
			or.Mode = outbound.ModeOwnToken
			or.Tokens = authority.NewCachedSource(client, authority.ClientCredentialsRequest{
				Audiences: r.Audiences, Scopes: r.Scopes, Resources: r.Resources,
			}, authority.CachedSourceOptions{})
		case ModePassthrough:
			or.Mode = outbound.ModePassThrough
		case ModeNone:
			or.Mode = outbound.ModeNone
		}
		routes = append(routes, or)
	}
	return outbound.New(outbound.Options{
		Base:          baseTransport(cfg),
		Routes:        routes,
		Exchanger:     x,
		RefusalMemory: mem,
		Logger:        logger,
		MeterProvider: mp,
	})
}

// baseTransport returns cfg.Base, or a clone of http.DefaultTransport
// whose idle pool per host suits a gateway under load and which waits at
// most cfg.DownstreamTimeout for a response's headers.
func baseTransport(cfg Config) http.RoundTripper {
	if cfg.Base != nil {
		return cfg.Base
	}
	t := NewBaseTransport()
	t.ResponseHeaderTimeout = cmp.Or(cfg.DownstreamTimeout, DefaultDownstreamTimeout)
	return t
}

// NewBaseTransport returns a clone of http.DefaultTransport that keeps up
// to 256 idle connections per downstream host (the default keeps 2, which
// makes a busy gateway open a connection per request).
func NewBaseTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	return t
}
