package outbound_test

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strings"
	"testing"

	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// cannedBase answers every request with one shared response and no
// network, so that only the library's own work is measured.
type cannedBase struct{ resp *http.Response }

func (c cannedBase) RoundTrip(*http.Request) (*http.Response, error) { return c.resp, nil }

// digestContext is the least a context can be that carries a token's
// digest: the parent and the digest in one allocation.
type digestContext struct {
	context.Context
	sum [sha256.Size]byte
}

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d discardWriter) WriteHeader(int)             {}

// BenchmarkHotPath measures the whole cache-hit path: inbound parse,
// context store, route match, key hash, cache lookup and header set, with
// no network, beside the bare SHA-256 of the same 1 KiB subject token and
// the floor that net/http's contract sets for any library on this path.
//
//	go test -run '^$' -bench HotPath -benchmem -count 5 ./outbound/
func BenchmarkHotPath(b *testing.B) {
	e := newEnv(b)
	// A 1 KiB subject token: a real one, padded with a claim.
	subject := e.a.IssueToken(testutil.TokenClaims{Subject: "alice", Extra: map[string]any{"pad": strings.Repeat("x", 300)}})
	for len(subject) < 1024 {
		subject = e.a.IssueToken(testutil.TokenClaims{Subject: "alice", Extra: map[string]any{"pad": strings.Repeat("x", 300+1024-len(subject))}})
	}
	const backend = "http://orders.internal"
	tr := newTransport(b, outbound.Options{
		Base:      cannedBase{resp: &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}},
		Exchanger: e.x,
		Routes:    []outbound.Route{{URL: backend, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}}},
	})
	outReq, err := http.NewRequest(http.MethodGet, backend+"/orders/42", nil)
	if err != nil {
		b.Fatal(err)
	}
	handler := middleware.Bearer(middleware.Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// What application code does: the outbound request carries r's
		// context. WithContext is the application's allocation, not the
		// library's, but it is counted here.
		if _, err := tr.RoundTrip(outReq.WithContext(r.Context())); err != nil {
			b.Fatal(err)
		}
	}))
	inReq, err := http.NewRequest(http.MethodGet, "http://gateway/api/orders/42", nil)
	if err != nil {
		b.Fatal(err)
	}
	inReq.Header.Set("Authorization", "Bearer "+subject)
	w := discardWriter{h: http.Header{}}
	handler.ServeHTTP(w, inReq) // warm the cache

	b.Run("sha256", func(b *testing.B) {
		data := []byte(subject)
		b.ReportAllocs()
		for b.Loop() {
			sha256.Sum256(data)
		}
	})
	b.Run("floor", func(b *testing.B) {
		// What net/http's contract costs any library on this path, with
		// none of this one's work: the token's SHA-256, the middleware's
		// request copy with a context holding the digest (one allocation,
		// digestContext), the application's WithContext, and the
		// transport's copy of the request with a header of its own for
		// the new Authorization value. sink keeps the copies on the heap,
		// where real ones go.
		data := []byte(subject)
		bearer := "Bearer " + subject
		sink := new([3]*http.Request)
		b.Cleanup(func() { *sink = [3]*http.Request{} })
		b.ReportAllocs()
		for b.Loop() {
			in := inReq.WithContext(&digestContext{Context: inReq.Context(), sum: sha256.Sum256(data)})
			out := outReq.WithContext(in.Context())
			sent := new(http.Request)
			*sent = *out
			sent.Header = http.Header{"Authorization": {bearer}}
			*sink = [3]*http.Request{in, out, sent}
		}
	})
	b.Run("roundtrip", func(b *testing.B) {
		req := outReq.WithContext(middleware.NewContext(context.Background(), subject))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := tr.RoundTrip(req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("full", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			handler.ServeHTTP(w, inReq)
		}
	})
	b.Run("full-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			w := discardWriter{h: http.Header{}}
			for pb.Next() {
				handler.ServeHTTP(w, inReq)
			}
		})
	})
}
