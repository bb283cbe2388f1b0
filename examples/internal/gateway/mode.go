package gateway

import (
	"errors"
	"fmt"
)

// Mode says which token a route's downstream calls carry.
type Mode string

// Route modes.
const (
	// ModeExchange sends a token obtained by RFC 8693 token exchange of
	// the caller's token for the route's audiences, scopes and resources.
	ModeExchange Mode = "exchange"
	// ModePassthrough forwards the caller's token unchanged.
	ModePassthrough Mode = "passthrough"
	// ModeClient sends the gateway's own token (client credentials grant).
	ModeClient Mode = "client"
	// ModeNone sends no token.
	ModeNone Mode = "none"
)

// checkMode sets the default mode and audience and refuses options the
// mode does not use.
func (r *Route) checkMode() error {
	switch r.Mode {
	case "":
		r.Mode = ModeExchange
		fallthrough
	case ModeExchange:
		if len(r.Audiences) == 0 && len(r.Resources) == 0 {
			r.Audiences = []string{r.Service}
			r.defaultAudience = true
		}
		return nil
	case ModeClient, ModePassthrough, ModeNone:
	default:
		return errors.New("mode: want exchange, passthrough, client or none")
	}
	if r.Actor {
		return fmt.Errorf("actor needs mode exchange, not %s", r.Mode)
	}
	if r.Mode != ModeClient && (len(r.Audiences) > 0 || len(r.Scopes) > 0 || len(r.Resources) > 0) {
		return fmt.Errorf("mode %s takes no audience, scope or resource", r.Mode)
	}
	return nil
}
