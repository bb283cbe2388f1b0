package testutil

import (
	"io"
	"net/http"
	"strings"
	"time"
)

// FaultKind selects how an injected [Fault] answers.
type FaultKind int

const (
	// FaultStatus answers with Status and an empty body.
	FaultStatus FaultKind = iota
	// FaultOAuthError answers with Status and the JSON body
	// {"error": Body}, or {"error": "server_error"} when Body is empty.
	FaultOAuthError
	// FaultMalformedJSON answers with truncated JSON, status 200 by default.
	FaultMalformedJSON
	// FaultHTML answers with an HTML error page.
	FaultHTML
	// FaultOversize answers with a 2 MiB body that starts like a token
	// response, status 200 by default.
	FaultOversize
	// FaultDrop hijacks the connection and closes it without a response.
	FaultDrop
	// FaultEmpty answers 200 with an empty body (Status overrides).
	FaultEmpty
	// FaultRaw answers with Status and Body as given; set Content-Type in
	// Header.
	FaultRaw
	// FaultDelay waits Delay, then answers the request normally: a slow
	// but working server.
	FaultDelay
	// FaultTruncated answers 200 with a Content-Length larger than the
	// body it writes, then closes the connection: a reply cut off midway.
	FaultTruncated
)

// Fault is one injected failure of the token endpoint or of discovery.
type Fault struct {
	// Status is the HTTP status. If zero: 200 for FaultMalformedJSON,
	// FaultOversize, FaultEmpty and FaultTruncated, 500 otherwise.
	Status int
	// Delay is waited before answering. The wait ends early, without an
	// answer, when the client goes away or the server closes. The request
	// body is read first (a token request's form is kept for FaultDelay),
	// so that the server sees the client go away; a body over 1 MiB is
	// answered at once with 413.
	Delay time.Duration
	// Kind selects the answer; the zero value is FaultStatus.
	Kind FaultKind
	// Header holds extra response headers, e.g. Retry-After.
	Header http.Header
	// Body is the body of FaultRaw and the error code of FaultOAuthError.
	Body string
	// Arrived, if not nil, receives a value when a request this fault
	// answers has reached it, before Delay: a test waits on it to know
	// that the request is held. The send does not block (a full channel
	// gets nothing), so give it room for one value per queued request.
	Arrived chan<- struct{}
	// Hold, if not nil, holds the answer (after Delay) until Hold is
	// closed: a test releases a request it has seen arrive exactly when
	// it wants. Like Delay, the wait ends early, without an answer, when
	// the client goes away or the server closes.
	Hold <-chan struct{}
}

// InjectFaults queues f for the next n token-endpoint requests. Faults are
// served first in, first out; several calls append to the queue.
func (a *Authority) InjectFaults(n int, f Fault) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for range n {
		a.tokenFaults = append(a.tokenFaults, cloneFault(f))
	}
}

// FailDiscovery queues f for the next n discovery document requests, like
// [Authority.InjectFaults].
func (a *Authority) FailDiscovery(n int, f Fault) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for range n {
		a.discoveryFaults = append(a.discoveryFaults, cloneFault(f))
	}
}

func cloneFault(f Fault) Fault {
	f.Header = f.Header.Clone()
	return f
}

// popFault takes the first queued fault. Callers hold a.mu.
func popFault(q *[]Fault) (Fault, bool) {
	if len(*q) == 0 {
		return Fault{}, false
	}
	f := (*q)[0]
	*q = (*q)[1:]
	return f, true
}

// serveFault answers r with f after f.Delay. It reports whether it wrote
// the answer: false for FaultDelay, whose request is then served normally.
func (a *Authority) serveFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	if f.Arrived != nil {
		select {
		case f.Arrived <- struct{}{}:
		default:
		}
	}
	if f.Delay > 0 || f.Hold != nil {
		if !drainBody(r) {
			http.Error(w, "testutil: request body too large to delay", http.StatusRequestEntityTooLarge)
			return true
		}
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true
		case <-a.done:
			// Without an answer: returning would send an empty 200.
			panic(http.ErrAbortHandler)
		}
		if f.Hold != nil {
			select {
			case <-f.Hold:
			case <-r.Context().Done():
				return true
			case <-a.done:
				panic(http.ErrAbortHandler)
			}
		}
	}
	if f.Kind == FaultDelay {
		return false
	}
	serveFault(w, f)
	return true
}

// drainBody reads what is left of r's body, at most maxFormBytes, and
// reports whether it reached its end. net/http watches the connection, and
// cancels r.Context() when the client goes away, only once the handler has
// read the body to its end: a handler that waits on an unread body would
// outlive its client.
func drainBody(r *http.Request) bool {
	n, err := io.Copy(io.Discard, io.LimitReader(r.Body, maxFormBytes+1))
	return err == nil && n <= maxFormBytes
}

func serveFault(w http.ResponseWriter, f Fault) {
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
		switch f.Kind {
		case FaultMalformedJSON, FaultOversize, FaultEmpty, FaultTruncated:
			status = http.StatusOK
		}
	}
	if f.Kind == FaultDrop {
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic(http.ErrAbortHandler) // closes the connection on HTTP/2
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	}
	h := w.Header()
	for k, vs := range f.Header {
		h[k] = append([]string(nil), vs...)
	}
	setType := func(ct string) {
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", ct)
		}
	}
	var body string
	switch f.Kind {
	case FaultStatus, FaultEmpty:
	case FaultOAuthError:
		code := f.Body
		if code == "" {
			code = "server_error"
		}
		setType("application/json")
		body = `{"error":"` + strings.ReplaceAll(code, `"`, `\"`) + `"}`
	case FaultMalformedJSON:
		setType("application/json")
		body = `{"access_token":"eyJhbGciOi","token_type":"Bearer","expires_in":30`
	case FaultHTML:
		setType("text/html; charset=utf-8")
		body = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
	case FaultOversize:
		setType("application/json")
		body = `{"access_token":"` + strings.Repeat("A", 2<<20) + `","token_type":"Bearer"}`
	case FaultRaw:
		body = f.Body
	case FaultTruncated:
		setType("application/json")
		body = `{"access_token":"eyJhbGciOi`
		h.Set("Content-Length", "4096")
	}
	if body == "" && f.Kind != FaultTruncated {
		h.Set("Content-Length", "0")
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
