package authority_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

func TestSetZeroLifetime(t *testing.T) {
	var tok authority.Token
	assert.False(t, tok.ZeroLifetime())
	tok.SetZeroLifetime(true)
	assert.True(t, tok.ZeroLifetime())
	tok.SetZeroLifetime(false)
	assert.False(t, tok.ZeroLifetime())
}
