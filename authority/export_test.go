package authority

// OnRenewEnd makes s call f when each renewal ends, after it has updated
// the source's state, so that a test can wait for that event. Call it
// before the first call to s.Token.
func OnRenewEnd(s *CachedSource, f func(error)) { s.renewEnd = f }
