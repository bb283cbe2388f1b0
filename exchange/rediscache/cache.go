package rediscache

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/internal/ratelog"
)

// ErrUnavailable is the error of a call made while the circuit breaker
// is open: it fails at once without touching Redis. The Exchanger takes
// it, as any error of a Cache, for a miss.
var ErrUnavailable = errors.New("rediscache: Redis unavailable (circuit breaker open)")

// ErrClosed is the error of a call made after [Cache.Close].
var ErrClosed = errors.New("rediscache: cache closed")

// logInterval is how often the breaker may log a record of one kind.
const logInterval = time.Minute

// compareAndDeleteScript deletes KEYS[1] only if it still holds ARGV[1].
const compareAndDeleteScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`

var (
	_ exchange.Cache             = (*Cache)(nil)
	_ exchange.CompareAndDeleter = (*Cache)(nil)
)

// Cache is an [exchange.Cache] and [exchange.CompareAndDeleter] on Redis
// (or Valkey) that stores every entry encrypted and bound to its Redis
// key (see the package doc). It is safe for concurrent use. Create it
// with [New]; [Cache.Close] releases it.
type Cache struct {
	client    rueidis.Client
	owned     bool // the Cache made client and closes it
	keys      *keyring
	ns        string
	opTimeout time.Duration
	now       func() time.Time
	br        *breaker
	tel       *telemetry
	log       *ratelog.Limiter
	cad       *rueidis.Lua

	// life ends the subscriptions at Close.
	life      context.Context
	endLife   context.CancelFunc
	closed    atomic.Bool
	closeOnce sync.Once
}

// New returns a Cache configured by opts. It fails for options that are
// wrong (no client or URL, or both; a URL that is not a Redis URL; no
// key, or a key not 32 bytes long, or given twice; a negative duration
// or threshold); its errors name the field and never quote a key or the
// URL. Redis need not answer yet: with a URL, New does not fail when it
// cannot connect, and calls fail (as misses) until Redis answers.
func New(opts Options) (*Cache, error) {
	if (opts.Client == nil) == (opts.URL == "") {
		return nil, errors.New("rediscache: set exactly one of Options.Client and Options.URL")
	}
	kr, err := newKeyring(opts.Keys)
	if err != nil {
		return nil, err
	}
	if opts.OpTimeout < 0 || opts.BreakerThreshold < 0 || opts.BreakerCooldown < 0 || opts.BreakerMaxCooldown < 0 {
		return nil, errors.New("rediscache: Options.OpTimeout, BreakerThreshold, BreakerCooldown and BreakerMaxCooldown must not be negative")
	}
	c := &Cache{
		keys:      kr,
		ns:        opts.Namespace,
		opTimeout: opts.OpTimeout,
		now:       opts.Now,
		cad:       rueidis.NewLuaScript(compareAndDeleteScript),
	}
	if c.ns == "" {
		c.ns = DefaultNamespace
	}
	if c.opTimeout == 0 {
		c.opTimeout = DefaultOpTimeout
	}
	if c.now == nil {
		c.now = time.Now
	}
	threshold, cooldown, maxCooldown := opts.BreakerThreshold, opts.BreakerCooldown, opts.BreakerMaxCooldown
	if threshold == 0 {
		threshold = DefaultBreakerThreshold
	}
	if cooldown == 0 {
		cooldown = DefaultBreakerCooldown
	}
	if maxCooldown == 0 {
		maxCooldown = DefaultBreakerMaxCooldown
	}
	maxCooldown = max(maxCooldown, cooldown)
	c.br = newBreaker(threshold, cooldown, maxCooldown, c.now)

	if opts.Client != nil {
		c.client = opts.Client
	} else {
		if c.client, err = clientFromURL(opts.URL); err != nil {
			return nil, err
		}
		c.owned = true
	}
	c.tel = newTelemetry(opts.MeterProvider, c.br)
	c.log = ratelog.New(opts.Logger, logInterval, c.now)
	c.life, c.endLife = context.WithCancel(context.Background())
	return c, nil
}

// clientFromURL makes a client for a Redis URL. A URL naming one server
// gets a client that starts even when the server does not answer yet.
func clientFromURL(u string) (rueidis.Client, error) {
	co, err := rueidis.ParseURL(u)
	if err != nil {
		// The parser's error quotes the URL, which may hold a password.
		return nil, errors.New("rediscache: Options.URL is not a valid Redis URL (redis://[user:password@]host:port/db or rediss://...)")
	}
	if len(co.InitAddress) == 1 && co.Sentinel.MasterSet == "" {
		co.ForceSingleClient = true
	}
	client, err := rueidis.NewClient(co)
	if client == nil {
		return nil, fmt.Errorf("rediscache: connecting to Redis: %w", err)
	}
	// With ForceSingleClient, a failed first dial still gives a client,
	// which connects when Redis answers.
	return client, nil
}

// Client returns the Redis client the Cache uses, for code that shares
// it (as a tier that takes locks or publishes invalidations beside the
// Cache). It is closed by [Cache.Close] only if the Cache made it.
func (c *Cache) Client() rueidis.Client { return c.client }

// RedisKey returns the Redis key of the entry for key: the namespace
// followed by the key in lower-case hex. It is also the associated data
// of the entry's encryption.
func (c *Cache) RedisKey(key exchange.Key) string { return string(c.redisKey(key)) }

func (c *Cache) redisKey(key exchange.Key) []byte {
	b := make([]byte, len(c.ns)+hex.EncodedLen(len(key)))
	copy(b, c.ns)
	hex.Encode(b[len(c.ns):], key[:])
	return b
}

// Get implements [exchange.Cache]. It returns an error wrapping
// [exchange.ErrCacheMiss] when Redis holds no value for key, or one this
// Cache cannot serve: a value under a key id it was not given or of
// another format (left in place: a replica with other keys may read it),
// or a value that fails authentication, is malformed or holds an expired
// entry (deleted and counted as tampered). It returns [ErrUnavailable]
// while the breaker is open, and a wrapped error of Redis when the call
// fails or takes longer than Options.OpTimeout.
func (c *Cache) Get(ctx context.Context, key exchange.Key) (*exchange.Entry, error) {
	trial, err := c.admit(ctx, opGet)
	if err != nil {
		return nil, err
	}
	rk := c.redisKey(key)
	start := time.Now()
	val, err := c.get(ctx, rk)
	if err != nil {
		if rueidis.IsRedisNil(err) {
			c.finish(ctx, trial, opGet, outcomeMiss, start, nil)
			return nil, exchange.ErrCacheMiss
		}
		c.finish(ctx, trial, opGet, outcomeError, start, err)
		return nil, fmt.Errorf("rediscache: GET: %w", err)
	}
	e := c.decode(ctx, rk, val)
	if e == nil {
		c.finish(ctx, trial, opGet, outcomeMiss, start, nil)
		return nil, exchange.ErrCacheMiss
	}
	c.finish(ctx, trial, opGet, outcomeHit, start, nil)
	return e, nil
}

// get reads the value of rk within OpTimeout.
func (c *Cache) get(ctx context.Context, rk []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opTimeout)
	defer cancel()
	return c.client.Do(ctx, c.client.B().Get().Key(string(rk)).Build()).AsBytes()
}

// decode returns the entry val holds for rk, or nil when it holds none
// this Cache may serve. A value that fails authentication under a known
// key, is malformed, or holds an expired entry is deleted (if it is still
// the same bytes) and counted.
func (c *Cache) decode(ctx context.Context, rk, val []byte) *exchange.Entry {
	pt, res := c.keys.open(rk, val)
	switch res {
	case unknownFormat, unknownKey:
		return nil
	case malformed:
		c.discard(ctx, rk, val, tamperMalformed)
		return nil
	case authFailed:
		c.discard(ctx, rk, val, tamperAuthFailed)
		return nil
	}
	e := new(exchange.Entry)
	if err := e.UnmarshalBinary(pt); err != nil {
		c.discard(ctx, rk, val, tamperMalformed)
		return nil
	}
	if !c.now().Before(e.Expires) {
		c.discard(ctx, rk, val, tamperExpired)
		return nil
	}
	return e
}

// discard counts a value that is not served for r and deletes it if rk
// still holds it (a Set may have replaced it meanwhile). The deletion
// counts as a delete operation; its failure is otherwise ignored.
func (c *Cache) discard(ctx context.Context, rk, val []byte, r tamperReason) {
	c.tel.countTampered(ctx, r)
	trial, err := c.admit(ctx, opDelete)
	if err != nil {
		return
	}
	start := time.Now()
	_, err = c.deleteIfSame(ctx, rk, val)
	oc := outcomeOK
	if err != nil {
		oc = outcomeError
	}
	c.finish(ctx, trial, opDelete, oc, start, err)
}

// deleteIfSame deletes rk if it holds val, within OpTimeout, and reports
// whether it did.
func (c *Cache) deleteIfSame(ctx context.Context, rk, val []byte) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opTimeout)
	defer cancel()
	n, err := c.cad.Exec(ctx, c.client, []string{string(rk)}, []string{string(val)}).AsInt64()
	return n == 1, err
}

// Set implements [exchange.Cache]: it stores e, encrypted, for ttl or
// until e.Expires, whichever is sooner (SET with PX, in whole
// milliseconds). An entry with less than a millisecond left is not
// stored and removes what was stored for key. It returns an error for a
// nil entry or one without a token, [ErrUnavailable] while the breaker is
// open, and a wrapped error of Redis when the call fails or takes longer
// than Options.OpTimeout.
func (c *Cache) Set(ctx context.Context, key exchange.Key, e *exchange.Entry, ttl time.Duration) error {
	if e == nil || e.Token == nil {
		return errors.New("rediscache: Set of a nil entry or an entry without a token")
	}
	ttl = min(ttl, e.Expires.Sub(c.now()))
	ms := ttl.Milliseconds()
	if ms <= 0 {
		return c.Delete(ctx, key)
	}
	pt, err := e.MarshalBinary()
	if err != nil {
		return fmt.Errorf("rediscache: %w", err)
	}
	trial, err := c.admit(ctx, opSet)
	if err != nil {
		return err
	}
	rk := c.redisKey(key)
	val := c.keys.seal(nil, rk, pt)
	clear(pt)
	start := time.Now()
	err = c.set(ctx, rk, val, ms)
	if err != nil {
		c.finish(ctx, trial, opSet, outcomeError, start, err)
		return fmt.Errorf("rediscache: SET: %w", err)
	}
	c.finish(ctx, trial, opSet, outcomeOK, start, nil)
	return nil
}

// set stores val under rk for ms milliseconds, within OpTimeout.
func (c *Cache) set(ctx context.Context, rk, val []byte, ms int64) error {
	ctx, cancel := context.WithTimeout(ctx, c.opTimeout)
	defer cancel()
	cmd := c.client.B().Set().Key(string(rk)).Value(rueidis.BinaryString(val)).PxMilliseconds(ms).Build()
	return c.client.Do(ctx, cmd).Error()
}

// Delete implements [exchange.Cache]: it removes the value for key, if
// any. It returns [ErrUnavailable] while the breaker is open, and a
// wrapped error of Redis when the call fails or takes longer than
// Options.OpTimeout.
func (c *Cache) Delete(ctx context.Context, key exchange.Key) error {
	trial, err := c.admit(ctx, opDelete)
	if err != nil {
		return err
	}
	rk := c.redisKey(key)
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, c.opTimeout)
	err = c.client.Do(dctx, c.client.B().Del().Key(string(rk)).Build()).Error()
	cancel()
	if err != nil {
		c.finish(ctx, trial, opDelete, outcomeError, start, err)
		return fmt.Errorf("rediscache: DEL: %w", err)
	}
	c.finish(ctx, trial, opDelete, outcomeOK, start, nil)
	return nil
}

// CompareAndDelete implements [exchange.CompareAndDeleter]: it reads the
// value for key, decrypts it, and if match reports true for its entry,
// deletes it only if it is still the same bytes (a Lua script), so that
// an entry stored meanwhile by another replica survives. A value this
// Cache cannot serve is treated as Get treats it, and reported as no
// entry. Each of the two Redis calls has Options.OpTimeout.
func (c *Cache) CompareAndDelete(ctx context.Context, key exchange.Key, match func(*exchange.Entry) bool) (bool, error) {
	trial, err := c.admit(ctx, opCompareAndDelete)
	if err != nil {
		return false, err
	}
	rk := c.redisKey(key)
	start := time.Now()
	val, err := c.get(ctx, rk)
	if err != nil {
		if rueidis.IsRedisNil(err) {
			c.finish(ctx, trial, opCompareAndDelete, outcomeMiss, start, nil)
			return false, nil
		}
		c.finish(ctx, trial, opCompareAndDelete, outcomeError, start, err)
		return false, fmt.Errorf("rediscache: GET: %w", err)
	}
	e := c.decode(ctx, rk, val)
	if e == nil || !match(e) {
		c.finish(ctx, trial, opCompareAndDelete, outcomeMiss, start, nil)
		return false, nil
	}
	removed, err := c.deleteIfSame(ctx, rk, val)
	if err != nil {
		c.finish(ctx, trial, opCompareAndDelete, outcomeError, start, err)
		return false, fmt.Errorf("rediscache: compare and delete: %w", err)
	}
	oc := outcomeOK
	if !removed {
		oc = outcomeMiss
	}
	c.finish(ctx, trial, opCompareAndDelete, oc, start, nil)
	return removed, nil
}

// admit asks the breaker whether o may call Redis. When it may not, it
// counts o as rejected and returns [ErrUnavailable]; after Close it
// returns [ErrClosed].
func (c *Cache) admit(ctx context.Context, o op) (trial bool, err error) {
	if c.closed.Load() {
		return false, ErrClosed
	}
	ok, trial := c.br.allow()
	if !ok {
		c.tel.record(ctx, o, outcomeRejectedOpen, time.Time{})
		return false, ErrUnavailable
	}
	return trial, nil
}

// finish records an operation admitted by admit: its outcome in the
// metrics, and what it says of Redis to the breaker (err nil or an error
// reply of Redis: it answered; the caller's context ended: nothing;
// otherwise: a failure), logging the breaker's transitions.
func (c *Cache) finish(ctx context.Context, trial bool, o op, oc outcome, start time.Time, err error) {
	c.tel.record(ctx, o, oc, start)
	v := succeeded
	if err != nil {
		if _, isReply := rueidis.IsRedisErr(err); !isReply {
			v = failed
			if ctx.Err() != nil {
				v = undecided
			}
		}
	}
	switch t, wait := c.br.done(trial, v); t {
	case tripped:
		c.log.Log(ctx, slog.LevelWarn, "rediscache: Redis failing, circuit breaker opened",
			"cooldown", wait, "operation", opNames[o], "error", err)
	case recovered:
		c.log.Log(ctx, slog.LevelInfo, "rediscache: Redis answering again, circuit breaker closed")
	}
}

// Close releases the Cache: it unregisters its instruments' callback and
// closes the client if the Cache made it from Options.URL (a client given
// in Options.Client is its owner's to close). Later calls return
// [ErrClosed]. Close is safe to call more than once.
func (c *Cache) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.endLife()
		err = c.tel.close()
		if c.owned {
			c.client.Close()
		}
	})
	return err
}

// String returns a description of the Cache that holds neither a key
// nor a password.
func (c *Cache) String() string {
	return "rediscache.Cache{Namespace:" + strconv.Quote(c.ns) +
		" Keys:[" + strconv.Itoa(len(c.keys.keys)) + " redacted] OpTimeout:" + c.opTimeout.String() +
		" Breaker:" + c.br.current().String() + "}"
}

// GoString is String, so that %#v prints no secret either.
func (c *Cache) GoString() string { return c.String() }

// Format prints String for every verb.
func (c *Cache) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }
