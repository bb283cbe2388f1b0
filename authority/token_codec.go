package authority

// SetZeroLifetime sets what [Token.ZeroLifetime] reports. It is for a
// codec that stores a Token and reads it back (such as the binary encoding
// of exchange.Entry, for a cache shared between processes): every other
// field of a Token is exported, and this one must round-trip too, so that
// a token the server gave no lifetime is never taken for one with the
// client's default lifetime. A Token obtained from a [Client] already
// carries it; do not set it on a token that is shared.
func (t *Token) SetZeroLifetime(zero bool) { t.zeroLifetime = zero }
