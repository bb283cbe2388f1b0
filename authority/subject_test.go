package authority_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSubjectTokenDigest(t *testing.T) {
	const raw = "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl"
	tok := authority.NewSubjectToken(raw)
	assert.Equal(t, raw, tok.Value())
	assert.Equal(t, len(raw), tok.Len())
	assert.False(t, tok.IsZero())
	assert.Equal(t, sha256.Sum256([]byte(raw)), tok.Digest())

	// Copies share the digest, and concurrent first calls agree.
	cp := tok
	var wg sync.WaitGroup
	sums := make([][32]byte, 8)
	for i := range sums {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums[i] = cp.Digest()
		}()
	}
	wg.Wait()
	for _, s := range sums {
		assert.Equal(t, sha256.Sum256([]byte(raw)), s)
	}
}

// TestSubjectTokenDigestLengths checks the digest of tokens around the
// boundaries of the buffer it is hashed through, and that neither the
// first nor a later call allocates.
func TestSubjectTokenDigestLengths(t *testing.T) {
	for _, n := range []int{1, 31, 32, 33, 511, 512, 513, 1024, 1500, 8193} {
		raw := string(bytes.Repeat([]byte{'a' + byte(n%26)}, n))
		tok := authority.NewSubjectToken(raw)
		assert.Equal(t, sha256.Sum256([]byte(raw)), tok.Digest(), "%d bytes", n)
		assert.Equal(t, sha256.Sum256([]byte(raw)), tok.Digest(), "%d bytes, again", n)
		allocs := testing.AllocsPerRun(20, func() {
			_ = authority.NewSubjectToken(raw).Digest()
		})
		assert.Zero(t, allocs, "%d bytes", n)
	}
}

func TestSubjectTokenZero(t *testing.T) {
	for name, tok := range map[string]authority.SubjectToken{
		"zero value": {},
		"empty":      authority.NewSubjectToken(""),
	} {
		t.Run(name, func(t *testing.T) {
			assert.True(t, tok.IsZero())
			assert.Equal(t, "", tok.Value())
			assert.Equal(t, 0, tok.Len())
			assert.Equal(t, sha256.Sum256(nil), tok.Digest())
			assert.Equal(t, "authority.SubjectToken(none)", fmt.Sprint(tok))
		})
	}
}

// TestSubjectTokenNeverPrints checks every way a value reaches a log or an
// error: fmt verbs, slog's text and JSON handlers, and encoding/json of a
// struct that holds it.
func TestSubjectTokenNeverPrints(t *testing.T) {
	const raw = "opaque-subject-token-value-1234"
	tok := authority.NewSubjectToken(raw)
	holder := struct{ Subject authority.SubjectToken }{tok}

	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%T %v"} {
		out = append(out, fmt.Sprintf(verb, tok), fmt.Sprintf(verb, holder), fmt.Sprintf(verb, &holder))
	}
	js, err := json.Marshal(holder)
	require.NoError(t, err)
	out = append(out, string(js))

	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("m", "subject", tok, "holder", holder)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("m", "subject", tok, "holder", holder)
	out = append(out, buf.String())

	for _, s := range out {
		assert.NotContains(t, s, raw)
		assert.NotContains(t, s, raw[:12])
	}
	assert.Contains(t, string(js), "[redacted]")
}

func BenchmarkSubjectTokenDigest(b *testing.B) {
	raw := string(bytes.Repeat([]byte("a"), 1024))
	b.ReportAllocs()
	for b.Loop() {
		tok := authority.NewSubjectToken(raw)
		_ = tok.Digest()
		_ = tok.Digest()
	}
}
