package exchange

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// Dialect is the protocol an exchange for a [Target] speaks with the
// authority. Whatever the dialect, the exchanger caches, single-flights,
// refreshes ahead and remembers refusals the same way, and the dialect is
// part of the cache key: a token obtained in one dialect is never served
// for a target of another.
type Dialect uint8

// Dialects.
const (
	// DialectRFC8693 is OAuth 2.0 Token Exchange (RFC 8693), the default:
	// [authority.Client.Exchange].
	DialectRFC8693 Dialect = iota
	// DialectEntraOBO is Microsoft Entra ID's On-Behalf-Of flow
	// ([authority.Client.OnBehalfOf]): the subject token is sent as the
	// jwt-bearer assertion with requested_token_use=on_behalf_of. A
	// target of this dialect needs at least one scope (such as
	// "api://orders/.default") and sets no Audiences, Resources, Actor,
	// ActorTokenType, SubjectTokenType or RequestedTokenType, which the
	// flow has no parameter for.
	DialectEntraOBO
)

// String returns the dialect's name as [ParseDialect] reads it: "rfc8693"
// or "entra-obo".
func (d Dialect) String() string {
	switch d {
	case DialectRFC8693:
		return "rfc8693"
	case DialectEntraOBO:
		return "entra-obo"
	}
	return fmt.Sprintf("Dialect(%d)", uint8(d))
}

// ParseDialect reads a dialect's name: "rfc8693" (or "", the default) or
// "entra-obo".
func ParseDialect(name string) (Dialect, error) {
	switch name {
	case "", "rfc8693":
		return DialectRFC8693, nil
	case "entra-obo":
		return DialectEntraOBO, nil
	}
	return 0, fmt.Errorf("exchange: unknown dialect %q (want rfc8693 or entra-obo)", name)
}

// ErrDialectField is returned, wrapped with the field's name, by
// [Target.Prepare] for a target that sets a field its Dialect cannot
// send, or lacks one it needs (a [DialectEntraOBO] target with no scope).
var ErrDialectField = errors.New("not valid for the target's dialect")

// checkDialect refuses a target whose fields its dialect cannot carry.
func (t Target) checkDialect() error {
	switch t.Dialect {
	case DialectRFC8693:
		return nil
	case DialectEntraOBO:
	default:
		return fmt.Errorf("exchange: Target.Dialect: unknown dialect %d", uint8(t.Dialect))
	}
	set := []struct {
		name string
		set  bool
	}{
		{"Audiences", len(normalise(t.Audiences, false)) > 0},
		{"Resources", len(t.Resources) > 0},
		{"Actor", t.Actor != nil},
		{"ActorTokenType", t.ActorTokenType != ""},
		{"SubjectTokenType", t.SubjectTokenType != ""},
		{"RequestedTokenType", t.RequestedTokenType != ""},
	}
	for _, f := range set {
		if f.set {
			return fmt.Errorf("exchange: Target.%s is %w %s (On-Behalf-Of has no such parameter)", f.name, ErrDialectField, t.Dialect)
		}
	}
	if len(normalise(t.Scopes, true)) == 0 {
		return fmt.Errorf("exchange: Target.Scopes: none is %w %s, which needs at least one (such as api://orders/.default)", ErrDialectField, t.Dialect)
	}
	return nil
}

// send asks the authority for the token of one subject in p's dialect.
func (p *Prepared) send(ctx context.Context, c *authority.Client, subject, actor string) (*authority.Token, error) {
	if p.dialect == DialectEntraOBO {
		return c.OnBehalfOf(ctx, authority.OnBehalfOfRequest{Assertion: subject, Scopes: p.scopes})
	}
	return c.Exchange(ctx, p.request(subject, actor))
}
