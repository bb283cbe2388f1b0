package rediscache_test

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/exchange/rediscache"
)

const password = "pa55-w0rd-secret"

// secretsIn returns the ways a key or the password could be printed.
func secretsIn(keys ...[]byte) []string {
	out := []string{password}
	for _, k := range keys {
		out = append(out, string(k), hex.EncodeToString(k), base64.StdEncoding.EncodeToString(k), fmt.Sprint(k), fmt.Sprintf("%x", k[:8]))
	}
	return out
}

// printed returns v printed every way fmt can.
func printed(v any) []string {
	var out []string
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%T"} {
		out = append(out, fmt.Sprintf(f, v))
	}
	if s, ok := v.(fmt.Stringer); ok {
		out = append(out, s.String())
	}
	if g, ok := v.(fmt.GoStringer); ok {
		out = append(out, g.GoString())
	}
	return out
}

func TestNothingPrintsASecret(t *testing.T) {
	e := newEnv(t)
	url := "redis://user:" + password + "@" + e.r.Addr() + "/0"
	keys := [][]byte{newKey, oldKey}
	opts := rediscache.Options{URL: url, Keys: keys}
	c, err := rediscache.New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })

	for _, s := range append(printed(opts), append(printed(c), printed(&opts)...)...) {
		for _, secret := range secretsIn(keys...) {
			assert.NotContains(t, s, secret)
		}
	}
	assert.Contains(t, opts.String(), "user:xxxxx@"+e.r.Addr())
	assert.Contains(t, opts.String(), "Keys:[2 redacted]")
	assert.Contains(t, c.String(), `Namespace:"tokenexchange:"`)

	// The server refuses the password: the error says so, without it.
	_, err = c.Get(ctx, keyFor("alice"))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), password)
}

func TestNewErrors(t *testing.T) {
	good := [][]byte{oldKey}
	tests := []struct {
		name string
		opts rediscache.Options
		want string
	}{
		{"neither client nor URL", rediscache.Options{Keys: good}, "exactly one of Options.Client and Options.URL"},
		{"bad URL", rediscache.Options{URL: "redis://u:" + password + "@host:port:x/0", Keys: good}, "Options.URL is not a valid Redis URL"},
		{"not a Redis URL", rediscache.Options{URL: "http://u:" + password + "@host/", Keys: good}, "Options.URL is not a valid Redis URL"},
		{"no key", rediscache.Options{URL: "redis://127.0.0.1:1/0"}, "Options.Keys is empty"},
		{"short key", rediscache.Options{URL: "redis://127.0.0.1:1/0", Keys: [][]byte{oldKey, oldKey[:16]}}, "Options.Keys[1] is 16 bytes, want 32"},
		{"same key twice", rediscache.Options{URL: "redis://127.0.0.1:1/0", Keys: [][]byte{oldKey, newKey, oldKey}}, "Options.Keys[2] is the same key as Options.Keys[0]"},
		{"negative timeout", rediscache.Options{URL: "redis://127.0.0.1:1/0", Keys: good, OpTimeout: -time.Second}, "must not be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := rediscache.New(tc.opts)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), tc.want)
			for _, s := range secretsIn(tc.opts.Keys...) {
				assert.NotContains(t, err.Error(), s)
			}
			assert.False(t, strings.Contains(err.Error(), "\n"))
		})
	}
}
