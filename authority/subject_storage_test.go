package authority_test

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/stretchr/testify/assert"
)

func TestSubjectTokenStorage(t *testing.T) {
	tests := []struct {
		name string
		raw  string
	}{
		{"token", "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl"},
		{"empty", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var st authority.SubjectTokenStorage
			tok := st.Init(tc.raw)
			want := authority.NewSubjectToken(tc.raw)
			assert.Equal(t, want.IsZero(), tok.IsZero())
			assert.Equal(t, want.Value(), tok.Value())
			assert.Equal(t, want.Len(), tok.Len())
			assert.Equal(t, want.Digest(), tok.Digest())
			assert.Equal(t, sha256.Sum256([]byte(tc.raw)), tok.Digest())
			assert.Equal(t, fmt.Sprint(want), fmt.Sprint(tok))
		})
	}
}

// TestSubjectTokenStorageShared checks that copies of the SubjectToken
// share the digest kept in the storage.
func TestSubjectTokenStorageShared(t *testing.T) {
	holder := new(struct {
		other int
		st    authority.SubjectTokenStorage
	})
	tok := holder.st.Init("opaque-token")
	cp := tok
	assert.Equal(t, tok.Digest(), cp.Digest())
	assert.Zero(t, testing.AllocsPerRun(10, func() { _ = cp.Digest() }))
}

func TestSubjectTokenStorageInitTwice(t *testing.T) {
	var st authority.SubjectTokenStorage
	st.Init("a")
	assert.PanicsWithValue(t, "authority: SubjectTokenStorage.Init called twice", func() { st.Init("b") })
}
