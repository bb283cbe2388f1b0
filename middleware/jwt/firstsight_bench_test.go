package jwt_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// BenchmarkFirstSight validates tokens the validator has never seen: a
// pool of 1,000 distinct RS256 tokens of about 1 KiB, each validated once
// by a validator, which is replaced (outside the timer) when the pool is
// used up. With the verified-token cache on (the default) every call is a
// miss followed by an insert, so beside a build without the cache this is
// what the cache costs a token's first request.
//
//	go test -run '^$' -bench FirstSight -benchmem -count 5 ./middleware/jwt/
func BenchmarkFirstSight(b *testing.B) {
	a := testutil.NewAuthority(b, testutil.Options{})
	pool := make([]authority.SubjectToken, 1000)
	for i := range pool {
		pool[i] = authority.NewSubjectToken(a.IssueToken(testutil.TokenClaims{
			Subject: "user-" + strconv.Itoa(i), Audience: []string{"api"}, Scope: "read write",
			Extra: map[string]any{"pad": strings.Repeat("x", 380)},
		}))
	}
	ctx := context.Background()
	newValidator := func() *jwt.Validator {
		v, err := jwt.New(ctx, jwt.Config{Issuer: a.Issuer(), Audience: []string{"api"}, HTTPClient: a.Client()})
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
	v := newValidator()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if i == len(pool) {
			b.StopTimer()
			v.Close()
			v, i = newValidator(), 0
			b.StartTimer()
		}
		if _, err := v.Validate(ctx, pool[i]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	v.Close()
}
