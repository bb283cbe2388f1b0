package testutil

import (
	"net/url"
	"strconv"
	"time"
)

// TokenRequest is one token-endpoint request as the authority saw it.
// Requests answered with an injected fault are not logged.
type TokenRequest struct {
	Grant      string     // grant_type, "" if missing
	Form       url.Values // a copy of the posted form (secrets included)
	ClientID   string     // the client the request claimed to be, "" if none
	AuthMethod string     // client authentication method presented
	Time       time.Time  // per Options.Now
}

func (a *Authority) record(grant string, form url.Values, auth clientAuth) {
	req := TokenRequest{
		Grant:      grant,
		Form:       cloneValues(form),
		ClientID:   auth.clientID,
		AuthMethod: auth.method,
		Time:       a.now(),
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.counts[grant]++
	a.log = append(a.log, req)
}

// Count returns how many token-endpoint requests carried this grant_type
// (the full URN for token exchange), whatever their outcome, including
// OAuth errors. Injected faults are not counted.
func (a *Authority) Count(grantType string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.counts[grantType]
}

// Issued returns how many successful token responses this grant produced.
func (a *Authority) Issued(grantType string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.issued[grantType]
}

// ExchangesFor returns how many token exchanges (RFC 8693 and
// On-Behalf-Of) succeeded for a subject
// token whose sub claim is subject.
func (a *Authority) ExchangesFor(subject string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.exchanges[subject]
}

// DiscoveryCount returns how many discovery documents were requested,
// including requests answered with an injected fault.
func (a *Authority) DiscoveryCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.discovery
}

// FaultsServed returns how many token-endpoint requests were answered with
// an injected fault.
func (a *Authority) FaultsServed() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.faultsServed
}

// Requests returns a copy of the token-endpoint request log, oldest first.
func (a *Authority) Requests() []TokenRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]TokenRequest, len(a.log))
	for i, r := range a.log {
		r.Form = cloneValues(r.Form)
		out[i] = r
	}
	return out
}

// Reset zeroes every counter and empties the request log. Registrations,
// sessions, keys and queued faults are kept.
func (a *Authority) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.counts = map[string]int{}
	a.issued = map[string]int{}
	a.exchanges = map[string]int{}
	a.discovery = 0
	a.faultsServed = 0
	a.log = nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
