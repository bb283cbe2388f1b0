package testutil_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/testutil"
)

func TestSlowRepliesAdvanceTheClock(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(srv.Close)
	start := time.Unix(1_700_000_000, 0)
	clock := testutil.NewClock(start)
	slow := &testutil.SlowReplies{Base: srv.Client().Transport, Clock: clock, By: 10 * time.Second}
	client := &http.Client{Transport: slow}
	for i := 1; i <= 2; i++ {
		resp, err := client.Get(srv.URL)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, start.Add(time.Duration(i)*10*time.Second), clock.Now())
	}
}
