// Package exchange performs cached, single-flight OAuth 2.0 Token Exchanges
// (RFC 8693) on behalf of the callers of a service.
//
// An [Exchanger] turns the bearer token a request arrived with (the subject
// token) into a token issued for a downstream service (a [Target]: its
// audiences, resources, scopes and requested token type, optionally with the
// service's own token as the actor). It keeps the issued tokens in a [Cache]
// so that a warm request makes no network call:
//
//   - One key for the cache and for deduplication: a SHA-256 over
//     length-prefixed fields (the subject token, every field of the target,
//     the authority and client identity, and the hash of the actor token).
//     No raw token is ever a map key; the [Cache] only sees a [Key].
//   - Concurrent requests for the same key make one call to the authority.
//     The shared call runs on its own deadline ([Options.FlightTimeout]); a
//     caller whose context ends returns at once, the others still get the
//     token.
//   - At most [Options.MaxInFlight] exchanges are in progress at once; a
//     flight waits for a slot within its FlightTimeout.
//   - An entry lives until the earlier of the issued token's end (its
//     expires_in, or its JWT "exp" if earlier) minus min([Options.Skew],
//     a quarter of its life), and the subject token's "exp" (when it is a
//     JWT) minus the skew. An expired entry is never served. A subject
//     token that has expired, or expires within the skew, is refused with
//     [ErrSubjectExpired] without asking the authority.
//   - Refresh-ahead: after [Options.RefreshAhead] of its life, a hit returns
//     the cached token and starts one background exchange for a new one,
//     when a slot is free and the issued token (not the subject's "exp")
//     ends the entry. A refresh the authority refuses permanently removes
//     the entry.
//   - Permanent refusals (invalid_grant, invalid_target, ...) are remembered
//     for [Options.NegativeTTL]; temporary failures are never cached.
//
// The in-memory default cache, [MemoryCache], is bounded in entries and in
// bytes and is built on github.com/maypok86/otter/v2.
//
// Tokens never appear in errors or in [Stats].
package exchange
