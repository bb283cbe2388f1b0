// Package rediscache is an [exchange.Cache] on Redis (or Valkey, which
// speaks the same protocol) that keeps every entry encrypted and bound to
// its key, so that a fleet of gateways can share the tokens they
// exchanged. It uses the client github.com/redis/rueidis.
//
//	c, err := rediscache.New(rediscache.Options{
//		URL:  "redis://:password@redis.internal:6379/0", // or Client: a rueidis.Client
//		Keys: [][]byte{key},                             // 32 bytes each; the first encrypts
//	})
//	if err != nil { ... }
//	defer c.Close()
//	x, err := exchange.New(client, exchange.Options{Shared: c}) // behind the in-process tier
//
// # What is stored, and how
//
// An entry for the cache key k (a SHA-256 that never holds a token) is
// stored under the Redis key Namespace + hex(k) ("tokenexchange:" by
// default), with SET ... PX for the TTL the Exchanger gives, cut to the
// entry's Expires: it never outlives the entry. The value is
//
//	byte      1, the format version
//	8 bytes   key id: the first 8 bytes of SHA-256 of the AES key
//	12 bytes  random nonce
//	rest      AES-256-GCM ciphertext and tag of the entry's
//	          exchange.Entry.MarshalBinary encoding
//
// with the full Redis key as the associated data, so a value copied under
// another key (another subject's) does not open there. Nothing in Redis
// is a token in clear; an entry holding a 1 KiB access token takes about
// 1.4 KiB of Redis memory (MEMORY USAGE).
//
// [Cache.Get] answers [exchange.ErrCacheMiss] for no value, and also for a
// value it may not serve:
//   - under a key id it was not given, or of another format version: a
//     plain miss, and the value is left for the replicas that can read it
//     (a replica not yet given a new key must not delete its values);
//   - failing authentication under a key it has (tampered with, or moved
//     from another key), malformed, or holding an entry past its Expires
//     on Options.Now: the value is deleted (only if it is still the same
//     bytes) and counted in tokenexchange.rediscache.tampered.
//
// It never serves what it could not decrypt and verify.
// [Cache.CompareAndDelete] reads and decrypts the value, and deletes it
// only if match accepts its entry and Redis still holds the same bytes
// (a Lua script), so an entry another replica stored meanwhile stays.
//
// # Coordinating a fleet
//
// A Cache is also an [exchange.Coordinator], so that an Exchanger with it
// as Options.Shared makes one exchange per key for the whole fleet, one
// refresh, and fleet-wide invalidations (see package exchange, "Running
// several replicas"):
//
//   - [Cache.TryLock]: SET Namespace+"lock:"+hex(key) to a random 16-byte
//     fencing value (hex) with NX and PX; its unlock deletes the lock only
//     while it holds that value (a Lua compare-and-delete), so a lock that
//     expired and was taken by another replica stays.
//   - [Cache.Wait]: polls [Cache.Get] every 5ms, doubling up to 50ms,
//     until an entry appears, a call fails with anything but a miss, or
//     the caller's context ends. A Get never waits for a lock.
//   - [Cache.Publish] and [Cache.Subscribe]: the channel
//     Namespace+"invalidations", each message hex(key)+":"+hex(fingerprint)
//     (the first 16 bytes of the token's SHA-256; never the token). The
//     subscription runs on a goroutine of its own and subscribes again
//     after a failure (back-off 50ms doubling to 5s, logged at Warn at most
//     once a minute); messages published while it is down are lost (the
//     shared entry is gone already, and in-process entries expire).
//
// Lock, unlock, publish and every poll of Wait go through the circuit
// breaker and have OpTimeout, as the other calls: while the breaker is
// open TryLock fails at once with [ErrUnavailable] and the Exchanger
// exchanges by itself. The subscription's connection does not.
//
// # Refusal windows
//
// [Cache.Refusals] keeps the outbound transport's refusal windows (a
// downstream that refused even a freshly exchanged token, see
// outbound.Options.RefusalWindow) in the same Redis, as an
// outbound.RefusalMemory, so that a window opened on one replica holds
// for the whole fleet: Namespace + "refusal:" + hex(key), a hash of route
// and subject, set with PX and read with PTTL.
//
// # Key rotation
//
// Options.Keys lists the keys; the first encrypts, any decrypts, and a
// value names its key by id, so the order of the others does not matter.
// To rotate: give every replica [new, old] (they still read old values,
// and write new ones), wait until every value sealed with the old key has
// expired (the longest token lifetime), then drop the old key.
//
// # When Redis is slow or down
//
// Every Redis call has Options.OpTimeout (50ms by default) and ends with
// its caller's context too. After Options.BreakerThreshold consecutive
// failures (time-outs, connection errors; an error reply of Redis or an
// ended caller's context is not one) the circuit breaker opens: calls fail
// at once with [ErrUnavailable], which the Exchanger takes as a miss,
// without touching Redis. After Options.BreakerCooldown (5s) one trial
// call goes to Redis: its success closes the breaker, its failure opens it
// again for twice as long, up to Options.BreakerMaxCooldown (1 min). Each
// opening is logged at Warn and the recovery at Info, at most one record
// of a kind a minute. Nothing blocks past OpTimeout and nothing panics.
//
// # Telemetry
//
// The Cache's meter (scope
// github.com/go-tokenexchange/tokenexchange/exchange/rediscache) comes
// from Options.MeterProvider, the global provider when nil:
//
//	tokenexchange.rediscache.operations          counter, {operation}
//	    tokenexchange.operation: get | set | delete | compare_and_delete |
//	        lock | unlock | publish | receive | subscribe |
//	        remember_refusal | recall_refusal
//	    tokenexchange.outcome: hit | miss | ok | error | rejected_open
//	    every operation, rejected_open while the breaker is open; lock:
//	    ok (taken) or miss (held by another); unlock: miss when the lock
//	    had expired; receive: each invalidation message, error when
//	    malformed (dropped); subscribe: error for each lost subscription
//	tokenexchange.rediscache.operation.duration  histogram, s
//	    same attributes; the operations that reached Redis
//	tokenexchange.rediscache.tampered            counter, {entry}
//	    tokenexchange.reason: auth_failed | expired | malformed
//	    values read and deleted instead of served
//	tokenexchange.rediscache.breaker.state       gauge (observable), 1
//	    0 closed, 1 half-open (a trial call), 2 open
//	tokenexchange.rediscache.breaker.openings    counter (observable), {opening}
//	    times the breaker opened
//
// The deletion of a tampered or expired value counts as a delete
// operation. No attribute holds a key, a token or text from Redis.
//
// Options and Cache print neither a key nor the URL's password, with any
// fmt verb.
package rediscache
