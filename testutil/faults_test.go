package testutil

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestFaults(t *testing.T) {
	tests := []struct {
		name     string
		fault    Fault
		status   int
		ctype    string
		body     func(t *testing.T, body []byte)
		dropped  bool
		retryHdr string
	}{
		{name: "status", fault: Fault{Kind: FaultStatus, Status: 503, Header: http.Header{"Retry-After": {"1"}}}, status: 503, retryHdr: "1",
			body: func(t *testing.T, b []byte) { assert.Empty(t, b) }},
		{name: "status default", fault: Fault{Kind: FaultStatus}, status: 500},
		{name: "oauth error", fault: Fault{Kind: FaultOAuthError, Status: 400, Body: "invalid_grant"}, status: 400, ctype: "application/json",
			body: func(t *testing.T, b []byte) { assert.JSONEq(t, `{"error":"invalid_grant"}`, string(b)) }},
		{name: "oauth error default", fault: Fault{Kind: FaultOAuthError}, status: 500, ctype: "application/json",
			body: func(t *testing.T, b []byte) { assert.JSONEq(t, `{"error":"server_error"}`, string(b)) }},
		{name: "malformed json", fault: Fault{Kind: FaultMalformedJSON}, status: 200, ctype: "application/json",
			body: func(t *testing.T, b []byte) {
				assert.True(t, strings.HasPrefix(string(b), "{"))
				assert.False(t, strings.HasSuffix(string(b), "}"))
			}},
		{name: "html", fault: Fault{Kind: FaultHTML, Status: 502}, status: 502, ctype: "text/html; charset=utf-8",
			body: func(t *testing.T, b []byte) { assert.Contains(t, string(b), "<html>") }},
		{name: "oversize", fault: Fault{Kind: FaultOversize}, status: 200, ctype: "application/json",
			body: func(t *testing.T, b []byte) {
				assert.Greater(t, len(b), 1<<20)
				assert.True(t, strings.HasPrefix(string(b), `{"access_token":"`))
			}},
		{name: "empty", fault: Fault{Kind: FaultEmpty}, status: 200, body: func(t *testing.T, b []byte) { assert.Empty(t, b) }},
		{name: "raw", fault: Fault{Kind: FaultRaw, Status: 429, Body: "slow down", Header: http.Header{"Content-Type": {"text/plain"}}}, status: 429, ctype: "text/plain",
			body: func(t *testing.T, b []byte) { assert.Equal(t, "slow down", string(b)) }},
		{name: "drop", fault: Fault{Kind: FaultDrop}, dropped: true},
		{name: "truncated", fault: Fault{Kind: FaultTruncated}, dropped: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAuthority(t, Options{})
			a.AddClient(Client{ID: "c", Secret: "s"})
			a.InjectFaults(1, tt.fault)
			resp, err := a.Client().PostForm(a.TokenURL(), form("grant_type", GrantClientCredentials, "client_id", "c", "client_secret", "x"))
			if tt.dropped && err == nil {
				// The headers came, the body is cut off.
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				require.ErrorIs(t, err, io.ErrUnexpectedEOF)
			} else if tt.dropped {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				require.NoError(t, err)
				assert.Equal(t, tt.status, resp.StatusCode)
				if tt.ctype != "" {
					assert.Equal(t, tt.ctype, resp.Header.Get("Content-Type"))
				}
				if tt.retryHdr != "" {
					assert.Equal(t, tt.retryHdr, resp.Header.Get("Retry-After"))
				}
				if tt.body != nil {
					tt.body(t, body)
				}
			}
			assert.Equal(t, 0, a.Count(GrantClientCredentials), "faults are not counted")
			assert.Equal(t, 1, a.FaultsServed())
			// The queue is empty again: the next request reaches the grant.
			r := postToken(t, a, form("grant_type", GrantClientCredentials), withBasic("c", "s"))
			requireToken(t, r)
			assert.Equal(t, 1, a.Count(GrantClientCredentials))
		})
	}
}

func TestFaultDelayThenServe(t *testing.T) {
	a := NewAuthority(t, Options{})
	a.AddClient(Client{ID: "c", Secret: "s"})
	a.InjectFaults(1, Fault{Kind: FaultDelay, Delay: 50 * time.Millisecond})
	start := time.Now()
	r := postToken(t, a, form("grant_type", GrantClientCredentials), withBasic("c", "s"))
	requireToken(t, r)
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	assert.Equal(t, 1, a.Count(GrantClientCredentials), "a delayed request is then served and counted")
	assert.Equal(t, 1, a.Issued(GrantClientCredentials))

	a.FailDiscovery(1, Fault{Kind: FaultDelay, Delay: 10 * time.Millisecond})
	resp, err := a.Client().Get(a.DiscoveryURL())
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestFaultQueueOrder(t *testing.T) {
	a := NewAuthority(t, Options{})
	a.InjectFaults(2, Fault{Kind: FaultStatus, Status: 502})
	a.InjectFaults(1, Fault{Kind: FaultStatus, Status: 503})
	var got []int
	for range 4 {
		resp, err := a.Client().PostForm(a.TokenURL(), form("grant_type", "x"))
		require.NoError(t, err)
		resp.Body.Close()
		got = append(got, resp.StatusCode)
	}
	assert.Equal(t, []int{502, 502, 503, 400}, got)
}

func TestFaultDelay(t *testing.T) {
	t.Run("answers after delay", func(t *testing.T) {
		a := NewAuthority(t, Options{})
		a.InjectFaults(1, Fault{Kind: FaultStatus, Status: 504, Delay: 50 * time.Millisecond})
		start := time.Now()
		resp, err := a.Client().PostForm(a.TokenURL(), form("grant_type", "x"))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 504, resp.StatusCode)
		assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	})
	t.Run("close while client waits", func(t *testing.T) {
		a := NewAuthority(t, Options{})
		arrived := make(chan struct{}, 1)
		a.InjectFaults(1, Fault{Kind: FaultStatus, Delay: time.Hour, Arrived: arrived})
		errc := make(chan error, 1)
		go func() {
			resp, err := a.Client().PostForm(a.TokenURL(), form("grant_type", "x"))
			if err == nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		<-arrived // the request is held by the fault
		a.Close() // returns, ending the delay without an answer
		assert.Error(t, <-errc)
	})
}

func TestFailDiscovery(t *testing.T) {
	a := NewAuthority(t, Options{})
	a.FailDiscovery(1, Fault{Kind: FaultHTML, Status: 503})
	a.InjectFaults(1, Fault{Kind: FaultStatus}) // token faults are a separate queue
	get := func() int {
		resp, err := a.Client().Get(a.DiscoveryURL())
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, 503, get())
	assert.Equal(t, 200, get())
	assert.Equal(t, 2, a.DiscoveryCount())
	a.Reset()
	assert.Equal(t, 0, a.DiscoveryCount())
}

// TestFaultDelayEndsWithClient checks that a delayed fault ends when its
// client goes away, whatever the request: the handler must not outlive its
// client (net/http cancels a request's context on a disconnect only once
// the handler has read the body to its end).
func TestFaultDelayEndsWithClient(t *testing.T) {
	tests := []struct {
		name      string
		discovery bool
		method    string
		ctype     string
		body      string
		kind      FaultKind
	}{
		{name: "token form", method: http.MethodPost, ctype: "application/x-www-form-urlencoded", body: "grant_type=x"},
		{name: "token form, delay then serve", method: http.MethodPost, ctype: "application/x-www-form-urlencoded", body: "grant_type=x", kind: FaultDelay},
		{name: "token, not a form", method: http.MethodPost, ctype: "application/json", body: `{"grant_type":"x"}`},
		{name: "token GET", method: http.MethodGet},
		{name: "discovery GET", discovery: true, method: http.MethodGet},
		{name: "discovery POST", discovery: true, method: http.MethodPost, ctype: "text/plain", body: "hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAuthority(t, Options{})
			arrived := make(chan struct{}, 1)
			f := Fault{Kind: tt.kind, Delay: time.Hour, Arrived: arrived}
			target := a.TokenURL()
			if tt.discovery {
				a.FailDiscovery(1, f)
				target = a.DiscoveryURL()
			} else {
				a.InjectFaults(1, f)
			}
			ignore := goleak.IgnoreCurrent()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, tt.method, target, strings.NewReader(tt.body))
			require.NoError(t, err)
			if tt.body == "" {
				req.Body = http.NoBody
			}
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			errc := make(chan error, 1)
			go func() {
				resp, err := a.Client().Do(req)
				if err == nil {
					resp.Body.Close()
				}
				errc <- err
			}()
			<-arrived // the handler holds the request
			cancel()
			require.ErrorIs(t, <-errc, context.Canceled)
			// The handler's goroutine (the server's connection) ends with its
			// client, long before the hour and without Close.
			noLeak(t, ignore)
		})
	}
}
