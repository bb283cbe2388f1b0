package exchange

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// Target describes the token wanted from an exchange: what it is for and
// what the subject token is. Every field but Name takes part in the cache
// key.
type Target struct {
	// Name names the target in metrics, spans and logs, as configured
	// (such as a route's name); never a token or a request's path. It is
	// not sent and not part of the cache key: two targets that differ
	// only by Name share their tokens.
	Name string
	// Audiences are sent as repeated "audience" parameters. Order does not
	// matter; empty strings are ignored.
	Audiences []string
	// Resources are sent as repeated "resource" parameters; each must be an
	// absolute URI without a fragment. Order does not matter.
	Resources []string
	// Scopes are requested as the space-separated "scope". Order does not
	// matter; an element holding spaces is split.
	Scopes []string
	// RequestedTokenType is always sent. Default
	// [authority.TokenTypeAccessToken].
	RequestedTokenType string
	// SubjectTokenType is the type of the subject token. Default
	// [authority.TokenTypeAccessToken].
	SubjectTokenType string
	// Actor, when set, supplies the token of the party acting for the
	// subject, sent as "actor_token" (delegation, RFC 8693 §1.1). Its
	// token's hash is part of the cache key.
	Actor authority.TokenSource
	// ActorTokenType is the type of the actor token. Default
	// [authority.TokenTypeAccessToken]. Only valid with Actor.
	ActorTokenType string
	// Dialect is the protocol of the exchange: [DialectRFC8693] (the zero
	// value) or [DialectEntraOBO], which allows Scopes only (at least
	// one). It is part of the cache key.
	Dialect Dialect
}

// Prepared is a [Target] validated, normalised and hashed once, for use on
// every request with [Exchanger.ExchangePrepared]. It holds its own copy of
// the target's fields, so later changes to the Target do not affect it. It
// is safe for concurrent use.
type Prepared struct {
	name           string   // Target.Name, for telemetry only
	audiences      []string // sorted
	resources      []string // sorted
	scopes         []string // sorted
	requestedType  string
	subjectType    string
	actor          authority.TokenSource
	actorTokenType string
	dialect        Dialect
	// digest covers every field above except the actor's token.
	digest [32]byte
	// lastActor remembers the hash of the most recent actor token, so that
	// an unchanged actor token is not hashed on every request.
	lastActor atomic.Pointer[actorHash]
}

type actorHash struct {
	token string
	sum   [32]byte
}

// Name returns the Target's Name: how the exchanges for it are named in
// metrics, spans and logs.
func (p *Prepared) Name() string { return p.name }

// Prepare validates t and returns its precomputed form. It returns an
// error whose message names the field when ActorTokenType is set without
// Actor, when a Resources element is not an absolute URI without a
// fragment, or when Dialect is unknown; and one that wraps
// [ErrDialectField] for a [DialectEntraOBO] target with no scope or with
// Audiences, Resources, Actor or a token type set.
func (t Target) Prepare() (*Prepared, error) {
	if err := t.checkDialect(); err != nil {
		return nil, err
	}
	if t.Actor == nil && t.ActorTokenType != "" {
		return nil, errors.New("exchange: Target.ActorTokenType set without Target.Actor")
	}
	for _, res := range t.Resources {
		u, err := url.Parse(res)
		if err != nil || !u.IsAbs() || u.Fragment != "" {
			return nil, fmt.Errorf("exchange: Target.Resources: %q is not an absolute URI without a fragment", res)
		}
	}
	p := &Prepared{
		name:          t.Name,
		audiences:     normalise(t.Audiences, false),
		resources:     normalise(t.Resources, false),
		scopes:        normalise(t.Scopes, true),
		requestedType: orDefault(t.RequestedTokenType, authority.TokenTypeAccessToken),
		subjectType:   orDefault(t.SubjectTokenType, authority.TokenTypeAccessToken),
		actor:         t.Actor,
		dialect:       t.Dialect,
	}
	if t.Dialect == DialectEntraOBO {
		// On-Behalf-Of sends neither type.
		p.requestedType, p.subjectType = "", ""
	}
	if t.Actor != nil {
		p.actorTokenType = orDefault(t.ActorTokenType, authority.TokenTypeAccessToken)
	}
	p.digest = targetDigest(p)
	return p, nil
}

// actorToken returns the actor's current token and its hash; both are zero
// without an actor.
func (p *Prepared) actorToken(ctx context.Context) (string, *[32]byte, error) {
	if p.actor == nil {
		return "", nil, nil
	}
	tok, err := p.actor.Token(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("exchange: actor token: %w", err)
	}
	if tok == nil || tok.AccessToken == "" {
		return "", nil, errors.New("exchange: actor token source returned no token")
	}
	if last := p.lastActor.Load(); last != nil && last.token == tok.AccessToken {
		return last.token, &last.sum, nil
	}
	h := &actorHash{token: tok.AccessToken, sum: hashString(tok.AccessToken)}
	p.lastActor.Store(h)
	return h.token, &h.sum, nil
}

// request builds the exchange request for one subject.
func (p *Prepared) request(subject, actor string) authority.ExchangeRequest {
	r := authority.ExchangeRequest{
		SubjectToken:       subject,
		SubjectTokenType:   p.subjectType,
		Audiences:          p.audiences,
		Resources:          p.resources,
		Scopes:             p.scopes,
		RequestedTokenType: p.requestedType,
	}
	if actor != "" {
		r.ActorToken = actor
		r.ActorTokenType = p.actorTokenType
	}
	return r
}

// normalise drops empty values, splits scope values at spaces when asked,
// and sorts a copy.
func normalise(values []string, split bool) []string {
	var out []string
	for _, v := range values {
		if split {
			out = append(out, strings.Fields(v)...)
		} else if v != "" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
