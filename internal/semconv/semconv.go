// Package semconv names the attributes and bucket boundaries that the
// module's packages share in their OpenTelemetry instruments and spans, so
// that an attribute means the same, and is spelt the same, in every
// package. Values of these attributes come from closed sets or from the
// configuration (a route's or a target's name), never from a token, a
// subject, a request path or the network.
package semconv

import "go.opentelemetry.io/otel/attribute"

// Attribute keys of the module's own.
const (
	Grant      attribute.Key = "tokenexchange.grant"       // token_exchange, client_credentials, password, refresh_token, ...
	Outcome    attribute.Key = "tokenexchange.outcome"     // success, refused, error, canceled, ...
	OAuthError attribute.Key = "tokenexchange.oauth.error" // authority.ErrorCodeOf
	Reason     attribute.Key = "tokenexchange.reason"
	Lookup     attribute.Key = "tokenexchange.lookup"
	Operation  attribute.Key = "tokenexchange.operation"
	Trigger    attribute.Key = "tokenexchange.trigger"
	Target     attribute.Key = "tokenexchange.target" // exchange.Target.Name
	Route      attribute.Key = "tokenexchange.route"  // outbound.Route.Name
	Refresh    attribute.Key = "tokenexchange.refresh"
	Background attribute.Key = "tokenexchange.background"
	Coalesced  attribute.Key = "tokenexchange.exchange.coalesced"
)

// Attribute keys of OpenTelemetry's semantic conventions.
const (
	HTTPStatusCode attribute.Key = "http.response.status_code"
	ServerAddress  attribute.Key = "server.address"
	ServerPort     attribute.Key = "server.port"
)

// DurationBuckets returns the bucket boundaries, in seconds, of every
// duration histogram of the module: from 5ms (a cached answer on
// loopback) to 30s (beyond any sane timeout). A new slice each time, so
// that no caller can change another's.
func DurationBuckets() []float64 {
	return []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
}
