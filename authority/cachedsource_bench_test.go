package authority_test

import (
	"context"
	"testing"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// BenchmarkCachedSourceToken measures CachedSource.Token on a valid cached
// token: the path every own-token request takes, which must start no span
// and record no metric.
//
//	go test -run '^$' -bench CachedSourceToken -benchmem -count 10 ./authority/
func BenchmarkCachedSourceToken(b *testing.B) {
	a := testutil.NewAuthority(b, testutil.Options{})
	a.AddClient(testutil.Client{ID: "gateway", Secret: "gateway-secret"})
	c, err := authority.New(authority.Config{TokenURL: a.TokenURL(), ClientID: "gateway", ClientSecret: "gateway-secret", HTTPClient: a.Client()})
	if err != nil {
		b.Fatal(err)
	}
	ts := authority.NewCachedSource(c, authority.ClientCredentialsRequest{}, authority.CachedSourceOptions{})
	ctx := context.Background()
	if _, err := ts.Token(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ts.Token(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := ts.Token(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
