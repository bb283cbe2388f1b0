package gateway

import (
	"errors"
	"fmt"

	"github.com/go-tokenexchange/tokenexchange/exchange"
)

// dialectValue is the -dialect flag: rfc8693 or entra-obo.
type dialectValue exchange.Dialect

// String implements flag.Value.
func (d *dialectValue) String() string { return exchange.Dialect(*d).String() }

// Set implements flag.Value.
func (d *dialectValue) Set(v string) error {
	dl, err := exchange.ParseDialect(v)
	if err != nil {
		return errors.New("want rfc8693 or entra-obo")
	}
	*d = dialectValue(dl)
	return nil
}

// checkDialect refuses what the configured dialect cannot send: with
// entra-obo (Microsoft Entra ID's On-Behalf-Of), every exchange route
// needs a scope and takes no audience, resource or actor, and
// -subject-token-type does not apply; the embedded demo speaks RFC 8693
// only.
func (c Config) checkDialect() error {
	switch c.Dialect {
	case exchange.DialectRFC8693:
		return nil
	case exchange.DialectEntraOBO:
	default:
		return fmt.Errorf("-dialect: unknown dialect %s", c.Dialect)
	}
	if c.Embedded() {
		return errors.New("-dialect entra-obo needs -issuer or -token-url (the embedded demo speaks RFC 8693)")
	}
	if c.SubjectTokenType != "" {
		return errors.New("-subject-token-type does not apply to -dialect entra-obo (On-Behalf-Of sends no token type)")
	}
	for _, r := range c.Routes {
		if r.Mode != ModeExchange && r.Mode != "" {
			continue
		}
		switch {
		case r.Actor:
			return fmt.Errorf("-route %s: actor is not available with -dialect entra-obo (On-Behalf-Of has no actor token)", r.Prefix)
		case len(r.Resources) > 0:
			return fmt.Errorf("-route %s: resource is not available with -dialect entra-obo: name the API by its scope (scope=api://APP/.default)", r.Prefix)
		case len(r.Audiences) > 0 && !r.defaultAudience:
			return fmt.Errorf("-route %s: audience is not available with -dialect entra-obo: name the API by its scope (scope=api://APP/.default)", r.Prefix)
		case len(r.Scopes) == 0:
			return fmt.Errorf("-route %s: -dialect entra-obo needs a scope (such as scope=api://APP/.default)", r.Prefix)
		}
	}
	return nil
}

// exchangeTarget is the exchange target of an exchange route r, without
// its actor.
func (c Config) exchangeTarget(r Route) exchange.Target {
	if c.Dialect == exchange.DialectEntraOBO {
		return exchange.Target{Name: r.Service, Dialect: c.Dialect, Scopes: r.Scopes}
	}
	return exchange.Target{
		Name:             r.Service,
		Audiences:        r.Audiences,
		Scopes:           r.Scopes,
		Resources:        r.Resources,
		SubjectTokenType: c.SubjectTokenType,
	}
}
