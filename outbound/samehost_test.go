package outbound_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/outbound"
)

// TestDestinationSameHost pins how a Destination compares a URI (gRPC's
// audience: "https://" + authority + service path) with its route's host
// and port: host without regard to ASCII case, a missing port the URI
// scheme's default, the schemes not compared, anything odd refused.
func TestDestinationSameHost(t *testing.T) {
	tests := []struct {
		route string
		uri   string
		want  bool
	}{
		{"https://orders.internal", "https://orders.internal/pkg.Orders", true},
		{"https://orders.internal", "https://orders.internal:443/pkg.Orders", true},
		{"https://orders.internal:443", "https://ORDERS.internal/pkg.Orders", true},
		{"https://Orders.Internal", "https://orders.internal", true},
		{"http://127.0.0.1:8080", "https://127.0.0.1:8080/pkg.Orders", true},
		{"http://orders.internal", "http://orders.internal/x", true},
		{"https://[::1]:8443", "https://[::1]:8443/pkg.Orders", true},
		{"https://orders.internal:8443/api", "https://orders.internal:8443/other", true},
		{"https://orders.internal:8443", "https://orders.internal:8443?x#y", true},

		{"https://orders.internal", "https://billing.internal/pkg.Orders", false},
		{"https://orders.internal", "https://orders.internal:8443/pkg.Orders", false},
		{"http://orders.internal", "https://orders.internal/pkg.Orders", false}, // 80 against 443
		{"http://127.0.0.1:8080", "https://127.0.0.1:8081/pkg.Orders", false},
		{"http://127.0.0.1:8080", "https://localhost:8080/pkg.Orders", false},
		{"https://orders.internal", "https://orders.internal.evil/pkg.Orders", false},
		{"https://orders.internal", "https://evil@orders.internal/pkg.Orders", false},
		{"https://orders.internal", "https://orders.internal@evil/pkg.Orders", false},
		{"https://orders.internal", "https://orders.internal:0443/x", false},
		{"https://orders.internal", "https://orders.internal:x/x", false},
		{"https://kube.internal", "https://\u212aube.internal/x", false}, // KELVIN SIGN is not k
		{"https://orders.internal", "grpc://orders.internal/x", false},
		{"https://orders.internal", "orders.internal:443", false},
		{"https://orders.internal", "https:///x", false},
		{"https://orders.internal", "", false},
		{"https://[::1]:8443", "https://::1:8443/x", false},
	}
	for _, tt := range tests {
		t.Run(tt.route+" "+tt.uri, func(t *testing.T) {
			tr := newTransport(t, outbound.Options{Routes: []outbound.Route{{URL: tt.route, Mode: outbound.ModeNone}}})
			d, err := tr.Destination(tt.route)
			require.NoError(t, err)
			assert.Equal(t, tt.want, d.SameHost(tt.uri))
		})
	}
}

// BenchmarkDestinationSameHost pins that the comparison does not
// allocate.
func BenchmarkDestinationSameHost(b *testing.B) {
	tr := newTransport(b, outbound.Options{Routes: []outbound.Route{{URL: "https://orders.internal", Mode: outbound.ModeNone}}})
	d, err := tr.Destination("https://orders.internal")
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if !d.SameHost("https://Orders.Internal/pkg.Orders") {
			b.Fatal("mismatch")
		}
	}
}

// BenchmarkDestinationPassThrough is the per-call cost of a pass-through
// Destination's token and Authorization value (as grpccreds asks for
// them), callers alternating: each call's value is made for it.
func BenchmarkDestinationPassThrough(b *testing.B) {
	tr := newTransport(b, outbound.Options{Routes: []outbound.Route{{URL: "https://orders.internal", Mode: outbound.ModePassThrough}}})
	d, err := tr.Destination("https://orders.internal")
	require.NoError(b, err)
	ctxs := []context.Context{middleware.NewContext(context.Background(), "alice-token"), middleware.NewContext(context.Background(), "bob-token")}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ctx := ctxs[i%2]
		i++
		tok, err := d.Token(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if d.Authorization(tok) == "" {
			b.Fatal("no value")
		}
	}
}
