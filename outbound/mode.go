package outbound

import "strconv"

// Mode says which token a [Route] puts on its requests. The zero Mode is
// not valid: every route must say what it sends.
type Mode int

const (
	// ModeExchange sends the subject token (the inbound caller's, from the
	// request context) exchanged for a token for the route's Target.
	ModeExchange Mode = iota + 1
	// ModeOwnToken sends the service's own token from the route's Tokens.
	ModeOwnToken
	// ModePassThrough sends the subject token unchanged. Use it only for a
	// destination that is meant to receive the caller's own token.
	ModePassThrough
	// ModeNone sends no token.
	ModeNone
)

// String returns the mode's name, e.g. "exchange".
func (m Mode) String() string {
	switch m {
	case ModeExchange:
		return "exchange"
	case ModeOwnToken:
		return "own-token"
	case ModePassThrough:
		return "pass-through"
	case ModeNone:
		return "none"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}
