package gateway

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/rueidis"
)

// CacheKeySize is the size of each -cache-key: an AES-256 key.
const CacheKeySize = 32

// secretValue is a flag whose value is a secret (-redis-url, -cache-key).
// It only collects the text: ParseFlags parses it after the flags, so that
// no error or help text of the flag package prints it, and its own errors
// name the flag and the position, never the value.
type secretValue struct{ raw string }

// String implements flag.Value. It shows nothing: the value is a secret.
func (s *secretValue) String() string { return "" }

// Set implements flag.Value: it keeps v, unparsed.
func (s *secretValue) Set(v string) error {
	s.raw = v
	return nil
}

// flagRedis reads -redis-url and -cache-key (or their variables). Its
// errors name the source and, for a key, its position: never a value.
func flagRedis(fs *flag.FlagSet) (redisURL string, keys [][]byte, err error) {
	redisURL = strings.TrimSpace(fs.Lookup("redis-url").Value.(*secretValue).raw)
	rawKeys := fs.Lookup("cache-key").Value.(*secretValue).raw
	if redisURL != "" {
		if err := checkRedisURL(redisURL); err != nil {
			return "", nil, fmt.Errorf("%s: %w", flagSource(fs, "redis-url"), err)
		}
	}
	if strings.TrimSpace(rawKeys) != "" {
		if keys, err = parseCacheKeys(rawKeys); err != nil {
			return "", nil, fmt.Errorf("%s: %w", flagSource(fs, "cache-key"), err)
		}
	}
	return redisURL, keys, nil
}

// parseCacheKeys reads a comma-separated list of keys, each the standard
// base64 of exactly CacheKeySize bytes. Its errors name a key by its
// position (from 1), never its text.
func parseCacheKeys(raw string) ([][]byte, error) {
	parts := strings.Split(raw, ",")
	keys := make([][]byte, 0, len(parts))
	for i, p := range parts {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(p))
		if err != nil || len(k) != CacheKeySize {
			return nil, fmt.Errorf("key %d: not %d bytes of standard base64 (make one with: head -c 32 /dev/urandom | base64)", i+1, CacheKeySize)
		}
		for j, prev := range keys {
			if string(prev) == string(k) {
				return nil, fmt.Errorf("key %d: the same as key %d", i+1, j+1)
			}
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// checkRedisURL accepts a redis:// or rediss:// URL with a host that the
// Redis client can use. Its errors never quote the URL: it may hold a
// password.
func checkRedisURL(s string) error {
	u, err := url.Parse(s)
	if err == nil && (u.Scheme == "redis" || u.Scheme == "rediss") && u.Host != "" {
		_, err = rueidis.ParseURL(s)
		if err == nil {
			return nil
		}
	}
	return errors.New("not a Redis URL: want redis://[user:password@]host:port/db, or rediss:// for TLS")
}

// redactRedisURL describes a Redis URL without its credentials: scheme,
// host and path, with "[redacted]@" when it has user info.
func redactRedisURL(s string) string {
	if s == "" {
		return "none"
	}
	u, err := url.Parse(s)
	if err != nil {
		return "[redacted]"
	}
	creds := ""
	if u.User != nil {
		creds = "[redacted]@"
	}
	return fmt.Sprintf("%q", u.Scheme+"://"+creds+u.Host+u.EscapedPath())
}

// checkRedis checks the Redis settings of c: both or neither, a usable
// URL, keys of the right size and no key twice.
func (c Config) checkRedis() error {
	switch {
	case c.RedisURL == "" && len(c.CacheKeys) == 0:
		return nil
	case c.RedisURL == "":
		return errors.New("-cache-key needs -redis-url")
	case len(c.CacheKeys) == 0:
		return errors.New("-redis-url needs -cache-key (TX_CACHE_KEY): the values in Redis are encrypted with it; make one with: head -c 32 /dev/urandom | base64")
	}
	if c.RedisTimeout < 0 {
		return errors.New("-redis-timeout must not be negative")
	}
	if err := checkRedisURL(c.RedisURL); err != nil {
		return fmt.Errorf("-redis-url: %w", err)
	}
	for i, k := range c.CacheKeys {
		if len(k) != CacheKeySize {
			return fmt.Errorf("-cache-key: key %d: not %d bytes", i+1, CacheKeySize)
		}
		for j := range i {
			if string(c.CacheKeys[j]) == string(k) {
				return fmt.Errorf("-cache-key: key %d: the same as key %d", i+1, j+1)
			}
		}
	}
	return nil
}
