package middleware_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-tokenexchange/tokenexchange/middleware"
)

func TestContextHelpers(t *testing.T) {
	ctx := context.Background()
	_, ok := middleware.TokenFromContext(ctx)
	assert.False(t, ok)
	_, ok = middleware.ClaimsFromContext(ctx)
	assert.False(t, ok)

	_, ok = middleware.TokenFromContext(middleware.NewContext(ctx, ""))
	assert.False(t, ok, "an empty token is no token")

	type otherKey struct{}
	ctx = context.WithValue(ctx, otherKey{}, "v")
	ctx = middleware.NewContext(ctx, "s3cr3t-token")
	tok, ok := middleware.TokenFromContext(ctx)
	assert.True(t, ok)
	assert.Equal(t, "s3cr3t-token", tok)
	assert.Equal(t, "v", ctx.Value(otherKey{}), "parent values stay reachable")
	_, ok = middleware.ClaimsFromContext(ctx)
	assert.False(t, ok)

	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		assert.NotContains(t, fmt.Sprintf(verb, ctx), "s3cr3t", verb)
	}

	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	<-ctx2.Done()
	tok, _ = middleware.TokenFromContext(ctx2)
	assert.Equal(t, "s3cr3t-token", tok)

	allocs := testing.AllocsPerRun(100, func() { _, _ = middleware.TokenFromContext(ctx2) })
	assert.Zero(t, allocs, "TokenFromContext must not allocate")
}
