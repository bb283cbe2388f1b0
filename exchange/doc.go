// Package exchange performs cached, single-flight OAuth 2.0 Token Exchanges
// (RFC 8693) on behalf of the callers of a service:
//
//	x, err := exchange.New(client, exchange.Options{}) // client: an *authority.Client
//	if err != nil {
//		return err
//	}
//	defer x.Close()
//	orders, err := exchange.Target{Audiences: []string{"orders-api"}}.Prepare()
//	if err != nil {
//		return err
//	}
//	// In a handler: the caller's token, as the inbound middleware keeps it.
//	subject, _ := middleware.SubjectFromContext(r.Context())
//	tok, err := x.ExchangePrepared(r.Context(), subject, orders)
//	if err != nil {
//		return err // see Exchanger.Exchange for the errors and their statuses
//	}
//	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
//
// (package outbound does this in an http.RoundTripper, for every route.)
//
// A Target speaks RFC 8693 by default; with Dialect [DialectEntraOBO] it
// speaks Microsoft Entra ID's On-Behalf-Of flow instead
// ([authority.Client.OnBehalfOf]: the subject token as the jwt-bearer
// assertion, the API named by scope), with the same cache, single flight,
// refresh-ahead and refusal cache; the dialect is part of the key.
//
// An [Exchanger] turns the bearer token a request arrived with (the subject
// token) into a token issued for a downstream service (a [Target]: its
// audiences, resources, scopes and requested token type, optionally with the
// service's own token as the actor). It keeps the issued tokens in a [Cache]
// so that a warm request makes no network call:
//
//   - One key for the cache and for deduplication: a SHA-256 over
//     length-prefixed fields (the subject token's SHA-256, computed once
//     per request by [authority.SubjectToken.Digest] and shared with the
//     validator, every field of the target, the authority and client
//     identity, and the hash of the actor token).
//     No raw token is ever a map key; the [Cache] only sees a [Key].
//   - Concurrent requests for the same key make one call to the authority.
//     The shared call runs on a context of its own (no caller's context
//     values reach the authority's HTTP client) with its own deadline
//     ([Options.FlightTimeout]); a caller whose context ends returns at
//     once, the others still get the token.
//   - At most [Options.MaxInFlight] exchanges are in progress at once; a
//     flight waits for a slot for at most its FlightTimeout, and only while
//     a caller still waits for it. At most 4*MaxInFlight flights wait; a
//     new one beyond that fails at once with [ErrBusy].
//   - An entry lives until the earlier of the issued token's end (its
//     expires_in, or its JWT "exp" if earlier) and the subject token's
//     "exp" (when it is a JWT), each brought forward by min([Options.Skew],
//     a quarter of what is left of it). An expired entry is never served.
//     A subject token whose "exp" has passed is refused with
//     [ErrSubjectExpired] without asking the authority, and one whose
//     "exp" is not a NumericDate (a JSON number, RFC 7519 §2; a string of
//     digits is not) with [ErrSubjectInvalid], as the inbound validator
//     refuses it.
//   - Refresh-ahead: after [Options.RefreshAhead] of its life, a hit returns
//     the cached token and starts one background exchange for a new one,
//     when a slot is free and the issued token (not the subject's "exp")
//     ends the entry. A refresh the authority refuses permanently removes
//     the entry.
//   - Permanent refusals (invalid_grant, invalid_target, ...) are remembered
//     for [Options.NegativeTTL]; temporary failures are never cached.
//
// # The cache
//
// A [Cache] stores issued tokens by [Key]; its methods take a context and
// return an error, so that a shared store (Redis, memcached) can implement
// it, keeping the bytes of [Entry.MarshalBinary], a documented, versioned
// encoding that [Entry.UnmarshalBinary] reads back exactly (an Entry's
// JSON, by contrast, redacts its tokens). Get reports a miss with
// [ErrCacheMiss]; the Exchanger takes any other error for a miss too and
// counts it in [Stats.CacheErrors]: a failing cache costs exchanges, never
// a failed request or a refusal. A Cache given in [Options.Cache] is never
// closed by the Exchanger.
//
// The in-memory default cache, [MemoryCache], is bounded in entries and in
// bytes and is built on github.com/maypok86/otter/v2 (per-entry expiry,
// weight bound, eviction events, atomic compute). Deduplication and
// refresh-ahead are not otter's Loader and Refresher but this package's own,
// on golang.org/x/sync/singleflight: they must work the same over any
// [Cache] (a shared store plugs in there), use the cache key as the flight
// key, give each waiter its own cancellation and the shared call its own
// deadline, keep serving the old token when a refresh fails temporarily, and
// drop it when the refusal is permanent; otter's loader blocks the caller
// on the load, and its refresher logs and discards errors.
//
// Tokens never appear in errors or in [Stats].
//
// # Running several replicas
//
// Replicas of a gateway share a second tier, [Options.Shared] (package
// exchange/rediscache: Redis or Valkey, every value encrypted and bound to
// its key), behind each one's in-process [Options.Cache]:
//
//	shared, err := rediscache.New(rediscache.Options{URL: redisURL, Keys: keys})
//	...
//	x, err := exchange.New(client, exchange.Options{Shared: shared})
//
// A hit in the in-process tier costs what it costs without a shared tier:
// Shared is never called on that path. After a miss, the caller joins the
// key's flight as before; the flight (one per key and replica, never a
// caller) reads Shared and, on a valid entry, stores it in the in-process
// tier for no longer than it lives and returns it (a shared hit). Every
// exchange stores its token in both tiers. An entry never outlives its
// Expires in either tier.
//
// When Shared also implements [Coordinator] (rediscache does), the fleet
// makes one exchange per key:
//   - a flight that misses in both tiers takes the key's fleet-wide lock
//     (a short lock with a fencing value, for at most twice
//     FlightTimeout), reads Shared again, exchanges, stores, and unlocks;
//     a flight that finds the lock taken waits for the holder's token
//     ([Coordinator.Wait], at most [Options.SharedWait]) and exchanges
//     itself when none comes. No Get ever blocks on a lock.
//   - a background refresh first reads Shared: a valid token other than
//     the one it refreshes (another replica's refresh) is adopted without
//     an exchange. Otherwise it takes the lock and refreshes; when another
//     replica holds the lock it is skipped (counted as skipped), the
//     current token keeps being served, and a hit after a few seconds
//     tries again, adopting the new token.
//   - [Exchanger.Invalidate] removes the refused token from both tiers
//     (compare and delete: a newer token stays) and publishes the key and
//     the token's [Fingerprint] (never the token); every replica removes
//     its in-process entry if it holds that very token, so a replica
//     already holding a newer one keeps it. New subscribes, Close
//     unsubscribes.
//
// Every failure of Shared or of the Coordinator is a miss, a lock not
// taken or an invalidation not sent, counted in [Stats.SharedErrors]: the
// replica then behaves as if alone (its own single flight, its own
// exchanges), and a request never fails because of the shared tier.
//
// # Telemetry
//
// An Exchanger reports through OpenTelemetry: metrics to
// [Options.MeterProvider], spans to [Options.TracerProvider] (both default
// to the global providers, no-ops until the application installs some),
// under the instrumentation scope
// "github.com/go-tokenexchange/tokenexchange/exchange". The counters behind
// the metrics are those of [Exchanger.Stats], reported by one callback when
// the metrics are collected: a cache hit records nothing, allocates nothing
// and starts no span. The metrics:
//
//   - tokenexchange.exchange.cache.lookups (counter, {lookup};
//     tokenexchange.lookup = hit | refresh_ahead | negative_hit | miss |
//     coalesced | shared_hit): requests for a token by how the cache
//     answered. Disjoint: hit counts the hits on an entry not yet due for
//     refresh, refresh_ahead those on an entry due for one, miss the
//     requests that started a flight, coalesced those that joined one
//     another request or a background refresh had started, shared_hit
//     (only with [Options.Shared]) those of either kind whose token came
//     from the shared tier. A request that waits for a flight is counted
//     when its wait ends ([Stats.Misses] and [Stats.Coalesced] count it
//     when it joins).
//   - tokenexchange.exchange.duration (histogram, s; tokenexchange.target,
//     tokenexchange.outcome, tokenexchange.oauth.error,
//     tokenexchange.refresh): each exchange with the authority, a flight
//     or a background refresh.
//   - tokenexchange.exchange.refreshes (counter, {refresh};
//     tokenexchange.outcome = success | failure | skipped | adopted):
//     background refreshes, skipped when they found no free slot or
//     another replica held the key's lock, adopted when they took another
//     replica's new token from the shared tier.
//   - tokenexchange.exchange.rejections (counter, {request};
//     tokenexchange.reason = busy | slot_timeout): exchanges refused
//     with [ErrBusy], or that found no free slot within FlightTimeout.
//   - tokenexchange.exchange.waits.canceled (counter, {request}): callers
//     that stopped waiting because their context ended.
//   - tokenexchange.exchange.in_flight (up-down counter, {exchange}):
//     exchanges holding a slot ([Options.MaxInFlight]).
//   - tokenexchange.exchange.cache.entries (up-down counter, {entry}),
//     tokenexchange.exchange.cache.evictions (counter, {entry}): when the
//     [Cache] tells (a Len or an Evictions method, as [MemoryCache] has).
//   - tokenexchange.exchange.cache.errors (counter, {error}): failed calls
//     of the Cache, each taken for a miss.
//
// With [Options.Shared] (only then):
//
//   - tokenexchange.exchange.shared.errors (counter, {error}): failed calls
//     of the shared Cache or its Coordinator, each a miss or a lock not
//     taken.
//   - tokenexchange.exchange.shared.locks (counter, {lock};
//     tokenexchange.outcome = won | lost | error): attempts to take a
//     key's fleet-wide lock, by flights and refreshes.
//   - tokenexchange.exchange.shared.waits (counter, {wait};
//     tokenexchange.outcome = found | timeout): flights that lost the lock
//     and waited for the holder's token.
//   - tokenexchange.exchange.shared.invalidations (counter,
//     {invalidation}; tokenexchange.operation = publish | receive |
//     apply): invalidations sent, received (its own included), and applied
//     (an in-process entry holding the refused token removed).
//
// A flight's span carries the events "shared hit" (the shared tier held
// the token), "lock lost; waiting" and "wait timed out".
// tokenexchange.outcome is success, refused (the authority refused
// permanently, [authority.IsPermanent]), error (a temporary failure),
// canceled, closed or busy; tokenexchange.oauth.error is the code
// [authority.ErrorCodeOf] returns, omitted when there is none;
// tokenexchange.target is [Target.Name], omitted when empty. No value is
// ever a token, a subject or text from the network.
//
// Spans: each exchange with the authority is a root span
// "tokenexchange.exchange" (its callers are many, each with a trace of its
// own), with tokenexchange.target, tokenexchange.refresh, outcome and
// error code, and status Error on failure; the request to the authority
// runs in its context, so the authority's HTTP request carries it. A flight
// starts it when it starts, before it waits for a slot. It is linked to
// the span of each caller waiting for it (at most 128): every request that
// misses starts a span "tokenexchange.exchange.wait", a child of its
// context's span, once it has joined a flight, with the attribute
// tokenexchange.exchange.coalesced, its outcome, and a link to the
// exchange's span. A background refresh's span (tokenexchange.refresh=true)
// is linked to the span of the hit that started it; a miss that joins a
// refresh is linked to and from it like any caller. Hits and negative hits
// start no span.
//
// Logs: [Options.Logger] receives what no caller sees as an error, at
// most one record of a kind per minute (of [Options.Now]), with the number
// held back meanwhile: a failed background refresh at Warn (the target's
// name, outcome, error code, and the error, whose authority text is
// sanitized by package authority; never a token or subject), the first
// success after failures at Info, and the start of [ErrBusy] rejections
// at Warn.
//
// A [LookupRecorder] in a request's context ([ContextWithLookupRecorder])
// receives how the request found its token, for an access log line.
//
// An Exchanger runs goroutines: its caches' periodic clean-ups, and the
// flights and refreshes described above. Close it when it is no longer
// used, so that none outlives it:
//
//	x, err := exchange.New(client, exchange.Options{})
//	if err != nil {
//		return err
//	}
//	defer x.Close()
//
// [Exchanger.Close] cancels the exchanges in progress, waits for them, and
// closes the [MemoryCache] New made; a Cache given in [Options.Cache] is
// closed by its owner ([MemoryCache.Close]). Afterwards Exchange returns
// [ErrClosed].
package exchange
