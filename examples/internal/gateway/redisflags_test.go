package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// Cache keys and a Redis password for the tests of secrecy.
var (
	testKey1     = bytes.Repeat([]byte{0x11}, CacheKeySize)
	testKey2     = bytes.Repeat([]byte{0x22}, CacheKeySize)
	testKey1B64  = base64.StdEncoding.EncodeToString(testKey1)
	testKey2B64  = base64.StdEncoding.EncodeToString(testKey2)
	testRedisPW  = "redis-secretpw"
	testRedisURL = "redis://gw:" + testRedisPW + "@redis.internal:6379/0"
)

// realArgs is a gateway configuration in front of a real authority.
var realArgs = []string{"-token-url", "http://as/token", "-client-id", "gw", "-route", "/api/o=http://h"}

// secrets returns every form of the test secrets that must never be
// printed.
func secrets() []string {
	out := []string{testRedisPW, testKey1B64, testKey2B64, hex.EncodeToString(testKey1), hex.EncodeToString(testKey2),
		fmt.Sprint(testKey1), fmt.Sprint(testKey2), string(testKey1), testKey1B64[:16]}
	return out
}

func TestParseFlagsRedis(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{name: "flags", args: append([]string{"-redis-url", testRedisURL, "-cache-key", testKey1B64 + ", " + testKey2B64}, realArgs...)},
		{name: "environment", args: realArgs, env: map[string]string{"TX_REDIS_URL": testRedisURL, "TX_CACHE_KEY": testKey1B64 + "," + testKey2B64}},
		{name: "embedded", args: []string{"-redis-url", "rediss://127.0.0.1:6380"}, env: map[string]string{"TX_CACHE_KEY": testKey1B64 + "," + testKey2B64}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseFlags("gw", tc.args, envOf(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.RedisURL == "" || len(cfg.CacheKeys) != 2 || !bytes.Equal(cfg.CacheKeys[0], testKey1) || !bytes.Equal(cfg.CacheKeys[1], testKey2) {
				t.Errorf("RedisURL set %v, CacheKeys %d", cfg.RedisURL != "", len(cfg.CacheKeys))
			}
		})
	}
	cfg, err := ParseFlags("gw", realArgs, envOf(nil))
	if err != nil || cfg.RedisURL != "" || cfg.CacheKeys != nil {
		t.Errorf("no Redis: %v, %v", err, cfg)
	}
}

// TestRedisFlagErrors: each error is one line naming the flag (or its
// variable) and, for a key, its position, and never a secret; Main exits
// 2 with that line.
func TestRedisFlagErrors(t *testing.T) {
	badKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x33}, 31)) // 31 bytes
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{args: []string{"-redis-url", testRedisURL}, want: "-redis-url needs -cache-key (TX_CACHE_KEY)"},
		{env: map[string]string{"TX_REDIS_URL": testRedisURL}, want: "-redis-url needs -cache-key"},
		{args: []string{"-cache-key", testKey1B64}, want: "-cache-key needs -redis-url"},
		{args: []string{"-redis-url", testRedisURL, "-cache-key", testKey1B64 + "," + badKey}, want: "-cache-key: key 2: not 32 bytes of standard base64"},
		{args: []string{"-redis-url", testRedisURL}, env: map[string]string{"TX_CACHE_KEY": testKey1B64 + "," + testKey2B64 + ",not base64!" + testRedisPW}, want: "TX_CACHE_KEY: key 3: not 32 bytes"},
		{args: []string{"-redis-url", testRedisURL, "-cache-key", testKey1B64 + ",,"}, want: "-cache-key: key 2: not 32 bytes"},
		{args: []string{"-redis-url", testRedisURL, "-cache-key", testKey1B64 + "," + testKey2B64 + "," + testKey1B64}, want: "-cache-key: key 3: the same as key 1"},
		{args: []string{"-redis-url", "http://gw:" + testRedisPW + "@redis.internal", "-cache-key", testKey1B64}, want: "-redis-url: not a Redis URL"},
		{args: []string{"-redis-url", "redis://gw:" + testRedisPW + "@redis.internal:6379/notadb", "-cache-key", testKey1B64}, want: "-redis-url: not a Redis URL"},
		{args: []string{"-redis-url", "redis://gw:" + testRedisPW + "@%zz", "-cache-key", testKey1B64}, want: "-redis-url: not a Redis URL"},
		{env: map[string]string{"TX_REDIS_URL": "redis//:" + testRedisPW, "TX_CACHE_KEY": testKey1B64}, want: "TX_REDIS_URL: not a Redis URL"},
	} {
		for _, args := range [][]string{tc.args, append(append([]string{}, tc.args...), realArgs...)} {
			_, err := ParseFlags("gw", args, envOf(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("ParseFlags(%d args, env %v): %v, want one line with %q", len(args), tc.env != nil, err, tc.want)
				continue
			}
			for _, s := range secrets() {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q prints a secret", err)
				}
			}
			var stdout, stderr bytes.Buffer
			if code := Main(context.Background(), "gw", args, envOf(tc.env), &stdout, &stderr, nil); code != 2 || strings.Count(stderr.String(), "\n") != 1 || strings.Contains(stderr.String(), testRedisPW) {
				t.Errorf("Main: exit %d, stderr %q; want 2 and one line without a secret", code, stderr.String())
			}
		}
	}
}

// TestConfigPrintsNoRedisSecret: a Config shows where Redis is, never its
// password nor a cache key, with any verb.
func TestConfigPrintsNoRedisSecret(t *testing.T) {
	cfg := Config{ClientID: "gateway", RedisURL: testRedisURL, CacheKeys: [][]byte{testKey1, testKey2}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		out := fmt.Sprintf(verb, cfg)
		if verb == "%x" {
			continue // hex of the redacted text: checked by the others
		}
		for _, s := range append(secrets(), "gw:") {
			if strings.Contains(out, s) {
				t.Errorf("%s prints a secret (%q): %s", verb, s, out)
			}
		}
		for _, want := range []string{"redis.internal:6379/0", "[redacted]@", "CacheKeys:[2 redacted]"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %q: %s", verb, want, out)
			}
		}
	}
	out := Config{RedisURL: "redis://:" + testRedisPW + "@%zz"}.String()
	if strings.Contains(out, testRedisPW) || !strings.Contains(out, "RedisURL:[redacted]") {
		t.Errorf("unparsable URL: %s", out)
	}
}

// TestUsageRedis: the help names the variables and recommends them.
func TestUsageRedis(t *testing.T) {
	var help bytes.Buffer
	Usage(&help, "gw")
	for _, want := range []string{"[TX_REDIS_URL]", "[TX_CACHE_KEY]", "prefer TX_REDIS_URL", "prefer TX_CACHE_KEY", "head -c 32 /dev/urandom | base64", "rediss://"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("usage lacks %q", want)
		}
	}
}

// TestConfigValidateRedis: a Config made in code is checked as the flags
// are.
func TestConfigValidateRedis(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{RedisURL: testRedisURL}, "-redis-url needs -cache-key"},
		{Config{CacheKeys: [][]byte{testKey1}}, "-cache-key needs -redis-url"},
		{Config{RedisURL: testRedisURL, CacheKeys: [][]byte{testKey1[:16]}}, "-cache-key: key 1: not 32 bytes"},
		{Config{RedisURL: testRedisURL, CacheKeys: [][]byte{testKey1, testKey1}}, "key 2: the same as key 1"},
		{Config{RedisURL: "redis://:" + testRedisPW + "@h:1/x", CacheKeys: [][]byte{testKey1}}, "-redis-url: not a Redis URL"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), testRedisPW) {
			t.Errorf("Validate: %v, want %q", err, tc.want)
		}
	}
	if err := (Config{RedisURL: testRedisURL, CacheKeys: [][]byte{testKey1}}).Validate(); err != nil {
		t.Errorf("embedded with Redis: %v", err)
	}
}
