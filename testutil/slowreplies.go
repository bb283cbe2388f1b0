package testutil

import (
	"net/http"
	"time"
)

// SlowReplies is an [http.RoundTripper] that moves Clock forward by By
// while each reply is on its way, as a slow authority or network does: a
// token whose lifetime is shorter than By arrives already expired. Set its
// fields before the first request and between requests, not during one.
type SlowReplies struct {
	Base  http.RoundTripper // sends the request; nil means http.DefaultTransport
	Clock *Clock
	By    time.Duration
}

// RoundTrip sends req with Base, then advances Clock by By.
func (s *SlowReplies) RoundTrip(req *http.Request) (*http.Response, error) {
	base := s.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	s.Clock.Advance(s.By)
	return resp, err
}
