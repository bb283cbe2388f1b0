package exchange

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// TestKeyDialect: the dialect is part of the target digest, an RFC 8693
// target keeps the digest it had before dialects existed (TestKeyGolden),
// and the On-Behalf-Of key of fixed inputs is pinned.
func TestKeyDialect(t *testing.T) {
	id := identityDigest("https://issuer.example\x00gateway")
	scopes := []string{"api://orders/.default"}
	rfc := prepare(t, Target{Scopes: scopes})
	obo := prepare(t, Target{Scopes: scopes, Dialect: DialectEntraOBO})
	// The same subject and type fields as OBO sends (none), on RFC 8693.
	bare := &Prepared{scopes: rfc.scopes}
	bare.digest = targetDigest(bare)
	assert.NotEqual(t, rfc.digest, obo.digest)
	assert.NotEqual(t, bare.digest, obo.digest)

	sum := authority.NewSubjectToken("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln").Digest()
	k := makeKey(&sum, &obo.digest, &id, nil)
	assert.Equal(t, "58061acf088974f3f199a74819d350a6220a413475011caab7da5130de1629c2", hex.EncodeToString(k[:]))
}
