package outbound

import (
	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
)

// Route names a destination and the token its requests get.
type Route struct {
	// Name names the route in metrics and logs (the tokenexchange.route
	// attribute), and is the [exchange.Target] Name of its exchanges when
	// that is empty. Default: URL as configured (which cannot hold user
	// info). It must not hold a secret. Routes may share a Name; their
	// counts then add up. Errors ([TokenError.Route]) name the URL.
	Name string
	// URL is the destination: scheme ("http" or "https"), host, optional
	// port and optional path prefix, e.g. "https://orders.internal:8443/api".
	// A missing port is the scheme's default (443 or 80). The host is
	// compared without regard to case. A path prefix matches on segment
	// boundaries: "/api" matches "/api" and "/api/x" but not "/apix"; no
	// path (or "/") matches every path. The longest matching prefix wins.
	// The prefix is written as it is sent: clean, with no ";", no
	// percent-encoding and no character that needs it (a space, "%", "\",
	// non-ASCII). No user info, query or fragment. Required.
	URL string
	// Mode says which token the route's requests get. Required.
	Mode Mode
	// Target is what an exchanged token is for. [ModeExchange] only; it
	// must name at least one audience or resource.
	Target exchange.Target
	// Exchanger performs the exchanges of a [ModeExchange] route, such as
	// an [*exchange.Exchanger]. If nil (or a nil pointer),
	// [Options.Exchanger]. When it is also an [ExchangeInvalidator], a
	// token a downstream refused with 401 is invalidated before the one
	// retry; otherwise the retry asks it again and gives up if it returns
	// the refused token.
	Exchanger Exchanger
	// Tokens supplies the token of a [ModeOwnToken] route, such as an
	// [*authority.CachedSource]. Required for that mode (a nil pointer
	// counts as none), not allowed for the others. When it is also an [authority.Invalidator], a token a
	// downstream refused with 401 is invalidated before the one retry;
	// otherwise the retry asks Tokens again and gives up if it returns
	// the refused token.
	Tokens authority.TokenSource
}
