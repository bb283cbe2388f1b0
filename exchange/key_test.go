package exchange

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func prepare(t *testing.T, tg Target) *Prepared {
	t.Helper()
	p, err := tg.Prepare()
	require.NoError(t, err)
	return p
}

func TestKeyFieldsAreSeparated(t *testing.T) {
	var id [32]byte
	tok := sha256.Sum256([]byte("tok"))
	tok2 := sha256.Sum256([]byte("tok2"))
	// Moving a boundary between fields must change the key.
	a := prepare(t, Target{Audiences: []string{"ab", "c"}})
	b := prepare(t, Target{Audiences: []string{"a", "bc"}})
	c := prepare(t, Target{Scopes: []string{"ab", "c"}})
	keys := map[Key]string{}
	for name, k := range map[string]Key{
		"a":   makeKey(&tok, &a.digest, &id, nil),
		"b":   makeKey(&tok, &b.digest, &id, nil),
		"c":   makeKey(&tok, &c.digest, &id, nil),
		"sub": makeKey(&tok2, &a.digest, &id, nil),
		"act": makeKey(&tok, &a.digest, &id, &id),
	} {
		if other, dup := keys[k]; dup {
			t.Errorf("%s and %s share a key", name, other)
		}
		keys[k] = name
	}
}

// TestKeyEncoding checks makeKey against the length-prefixed encoding,
// computed here independently, with and without an actor.
func TestKeyEncoding(t *testing.T) {
	id := identityDigest("https://issuer.example\x00gateway")
	a := prepare(t, Target{Audiences: []string{"api-a"}})
	subject := sha256.Sum256([]byte("tok"))
	actor := sha256.Sum256([]byte("actor token"))
	for _, act := range []*[32]byte{nil, &actor} {
		h := sha256.New()
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], 32)
		h.Write(n[:])
		h.Write(subject[:])
		h.Write(a.digest[:])
		h.Write(id[:])
		if act == nil {
			h.Write([]byte{0})
		} else {
			h.Write([]byte{1})
			h.Write(act[:])
		}
		var want Key
		h.Sum(want[:0])
		assert.Equal(t, want, makeKey(&subject, &a.digest, &id, act), "actor %v", act != nil)
	}
}

// TestKeyGolden pins the key of fixed inputs: replicas sharing a second
// tier must derive the same key, so a change here is a change of
// keyVersion.
func TestKeyGolden(t *testing.T) {
	id := identityDigest("https://issuer.example\x00gateway")
	p := prepare(t, Target{Audiences: []string{"api-b", "api-a"}, Scopes: []string{"write", "read"}})
	subject := authority.NewSubjectToken("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln")
	sum := subject.Digest()
	actor := hashString("actor token")
	tests := []struct {
		name  string
		actor *[32]byte
		want  string
	}{
		{"no actor", nil, "a0c1243f0862d64ec1fa235872ca36b920e08eba9e5c833e608d92aa3a719bdd"},
		{"actor", &actor, "57845a2da07b450f1c73e4097670fd73f66307a6b4ed0d253f4f59fc88f1e3d2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := makeKey(&sum, &p.digest, &id, tc.actor)
			assert.Equal(t, tc.want, hex.EncodeToString(k[:]))
		})
	}
}

// TestKeyIsOfTheDigest checks that the key depends on the token only
// through its digest: a SubjectToken whose digest was computed before
// (as the validator does) and a fresh one give one key.
func TestKeyIsOfTheDigest(t *testing.T) {
	var id [32]byte
	p := prepare(t, Target{Audiences: []string{"api-a"}})
	raw := "opaque-subject-token"
	early := authority.NewSubjectToken(raw)
	_ = early.Digest()
	late := authority.NewSubjectToken(raw)
	want := sha256.Sum256([]byte(raw))
	e, l := early.Digest(), late.Digest()
	assert.Equal(t, makeKey(&want, &p.digest, &id, nil), makeKey(&e, &p.digest, &id, nil))
	assert.Equal(t, makeKey(&want, &p.digest, &id, nil), makeKey(&l, &p.digest, &id, nil))
}

func TestMakeKeyDoesNotAllocate(t *testing.T) {
	var id [32]byte
	p := prepare(t, Target{Audiences: []string{"api-a"}})
	sum := sha256.Sum256([]byte("tok"))
	actor := sha256.Sum256([]byte("actor"))
	allocs := testing.AllocsPerRun(100, func() {
		_ = makeKey(&sum, &p.digest, &id, &actor)
	})
	assert.Zero(t, allocs)
}
