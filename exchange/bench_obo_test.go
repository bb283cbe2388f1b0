package exchange_test

import (
	"context"
	"testing"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// BenchmarkCacheHitDialect is a warm hit, the subject's digest computed
// before, on an RFC 8693 target and on an On-Behalf-Of one: the dialect
// costs nothing on a hit (same ns/op, 0 allocs).
//
//	go test -run '^$' -bench BenchmarkCacheHitDialect -benchmem -count 5 ./exchange/
func BenchmarkCacheHitDialect(b *testing.B) {
	e := newEnv(b, exchange.Options{}, testutil.Options{}, nil)
	subject := authority.NewSubjectToken(e.a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{clientID}}))
	_ = subject.Digest()
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		tgt  exchange.Target
	}{
		{"rfc8693", exchange.Target{Audiences: []string{"api-a"}}},
		{"entra-obo", exchange.Target{Dialect: exchange.DialectEntraOBO, Scopes: []string{"api://orders/.default"}}},
	} {
		p, err := bc.tgt.Prepare()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.x.ExchangePrepared(ctx, subject, p); err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.x.ExchangePrepared(ctx, subject, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	if st := e.x.Stats(); st.Exchanges != 2 {
		b.Fatalf("%d exchanges, want 2", st.Exchanges)
	}
}
