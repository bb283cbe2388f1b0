package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// guard bounds every wait of these tests. It is a failure guard only:
// each test waits on the event it means, which comes long before.
const guard = 20 * time.Second

// running is a gateway started by startServer.
type running struct {
	addr   string             // host:port it serves on
	cancel context.CancelFunc // stops Run
	done   chan error         // Run's result
}

// startServer runs Run, configured by the flags extra on top of a real
// authority configuration that the test never contacts, with h as the
// whole router. t.Cleanup stops it.
func startServer(t *testing.T, extra []string, h http.Handler, logger *slog.Logger) *running {
	t.Helper()
	args := append([]string{
		"-listen", "127.0.0.1:0", "-token-url", "http://127.0.0.1:1/token", "-client-id", "gw",
		"-route", "/api/o=http://127.0.0.1:1",
	}, extra...)
	return startRun(t, args, func(*Gateway) http.Handler { return h }, logger)
}

// startRun runs Run configured by args with the router newRouter builds.
// t.Cleanup stops it.
func startRun(t *testing.T, args []string, newRouter func(*Gateway) http.Handler, logger *slog.Logger) *running {
	t.Helper()
	cfg, err := ParseFlags("gw", args, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	ready := make(chan string, 1)
	go func() {
		r.done <- Run(ctx, cfg, newRouter, RunOptions{
			Logger: logger,
			Ready:  func(u string) { ready <- strings.TrimPrefix(u, "http://") },
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(guard):
			t.Errorf("Run did not return after its context ended")
		}
	})
	select {
	case r.addr = <-ready:
	case err := <-r.done:
		t.Fatalf("Run returned before ready: %v", err)
	}
	return r
}

// dial opens a raw TCP connection to addr, closed by t.Cleanup. Its
// deadline is the failure guard.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetDeadline(time.Now().Add(guard)); err != nil {
		t.Fatal(err)
	}
	return c
}

// get sends GET path on c and reads the whole response.
func get(t *testing.T, c net.Conn, br *bufio.Reader, path string) *http.Response {
	t.Helper()
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: gw\r\n\r\n", path); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatalf("GET %s: body: %v", path, err)
	}
	resp.Body.Close()
	return resp
}

// waitClosed reads c until the server closes it: EOF, or a reset when
// the server closed with unread input. A timeout (the guard) fails.
func waitClosed(t *testing.T, c io.Reader, what string) {
	t.Helper()
	_, err := io.Copy(io.Discard, c)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("%s: reading the connection: %v, want it closed by the server", what, err)
	}
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })

// TestServerClosesIdleConnections checks -idle-timeout: keep-alive
// connections that sent one complete request and read the answer are
// closed by the server once idle.
func TestServerClosesIdleConnections(t *testing.T) {
	s := startServer(t, []string{"-idle-timeout", "200ms"}, okHandler, nil)
	conns := make([]net.Conn, 3)
	readers := make([]*bufio.Reader, len(conns))
	for i := range conns {
		conns[i] = dial(t, s.addr)
		readers[i] = bufio.NewReader(conns[i])
		if resp := get(t, conns[i], readers[i], "/x"); resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("conn %d: status %d, close %v; want 200 on a kept-alive connection", i, resp.StatusCode, resp.Close)
		}
	}
	for i := range conns {
		waitClosed(t, readers[i], fmt.Sprintf("idle conn %d", i))
	}
}

// TestServerCutsTrickledBody checks -read-timeout: it bounds the whole
// request, so a body trickled a byte at a time, each byte well within the
// timeout, is cut: the handler's read fails with a timeout and the
// connection is closed.
func TestServerCutsTrickledBody(t *testing.T) {
	bodyErr := make(chan error, 1)
	h := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, err := io.Copy(io.Discard, r.Body)
		bodyErr <- err
	})
	s := startServer(t, []string{"-read-timeout", "300ms"}, h, nil)
	c := dial(t, s.addr)
	if _, err := io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: gw\r\nContent-Length: 100000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// The trickle: one byte every 20ms (not an assertion, the input).
	stop, trickled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(trickled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := c.Write([]byte{'x'}); err != nil {
				return
			}
		}
	}()
	defer func() { close(stop); <-trickled }()

	select {
	case err := <-bodyErr:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("handler read the trickled body with error %v, want a timeout", err)
		}
	case <-time.After(guard):
		t.Fatal("a trickled body was never cut")
	}
	waitClosed(t, c, "trickled body")
}

// TestServerWriteTimeout checks -write-timeout: a response still being
// written when it passes fails to write, and the connection is closed.
func TestServerWriteTimeout(t *testing.T) {
	writeErr := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			_, err := io.WriteString(w, "chunk\n")
			if err == nil {
				err = rc.Flush()
			}
			if err != nil {
				writeErr <- err
				return
			}
			select {
			case <-r.Context().Done():
				writeErr <- nil // the client went away: no write error seen
				return
			case <-tick.C:
			}
		}
	})
	s := startServer(t, []string{"-write-timeout", "300ms"}, h, nil)
	c := dial(t, s.addr)
	if _, err := io.WriteString(c, "GET /stream HTTP/1.1\r\nHost: gw\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-writeErr:
		if err == nil {
			t.Fatal("the stream ended without a write error")
		}
	case <-time.After(guard):
		t.Fatal("a response was written past -write-timeout")
	}
	waitClosed(t, c, "write timeout")
}

// TestServerHeaderLimit checks that request headers are bounded well
// below net/http's 1 MiB default: a big token fits, 100 KiB gets 431.
func TestServerHeaderLimit(t *testing.T) {
	s := startServer(t, nil, okHandler, nil)
	for _, tc := range []struct {
		size int
		want int
	}{
		{16 << 10, http.StatusOK},
		{100 << 10, http.StatusRequestHeaderFieldsTooLarge},
	} {
		c := dial(t, s.addr)
		if _, err := fmt.Fprintf(c, "GET /x HTTP/1.1\r\nHost: gw\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", tc.size)); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%d bytes of header: %v", tc.size, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%d bytes of header: status %d, want %d", tc.size, resp.StatusCode, tc.want)
		}
	}
}

// logSignal is a slog.Handler that closes a channel the first time a
// record with a given message is logged.
type logSignal struct {
	msg  string
	once *sync.Once
	ch   chan struct{}
}

func newLogSignal(msg string) (*slog.Logger, <-chan struct{}) {
	h := logSignal{msg: msg, once: new(sync.Once), ch: make(chan struct{})}
	return slog.New(h), h.ch
}

func (logSignal) Enabled(context.Context, slog.Level) bool { return true }
func (h logSignal) WithAttrs([]slog.Attr) slog.Handler     { return h }
func (h logSignal) WithGroup(string) slog.Handler          { return h }
func (h logSignal) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.once.Do(func() { close(h.ch) })
	}
	return nil
}

// TestServerMaxConns checks -max-conns with real TCP connections: at the
// limit the server logs it and accepts no more; a new connection waits in
// the kernel's accept queue and is served once a connection closes.
func TestServerMaxConns(t *testing.T) {
	var mu sync.Mutex // guards events
	var events []string
	record := func(e string) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record("served " + r.URL.Path)
		_, _ = io.WriteString(w, "ok\n")
	})
	logger, full := newLogSignal("connection limit reached: new connections wait for one to close")
	s := startServer(t, []string{"-max-conns", "1"}, h, logger)

	a := dial(t, s.addr)
	get(t, a, bufio.NewReader(a), "/a") // a stays open: keep-alive
	select {
	case <-full:
	case <-time.After(guard):
		t.Fatal("one connection open with -max-conns 1: the limit was never reached")
	}
	b := dial(t, s.addr) // the kernel completes the handshake; the server does not accept
	if _, err := io.WriteString(b, "GET /b HTTP/1.1\r\nHost: gw\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	record("closing a")
	a.Close()
	resp, err := http.ReadResponse(bufio.NewReader(b), nil)
	if err != nil {
		t.Fatalf("the waiting connection, once a slot is free: %v", err)
	}
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"served /a", "closing a", "served /b"}; strings.Join(events, ",") != strings.Join(want, ",") {
		t.Errorf("events %q, want %q: b was served while a held the only slot", events, want)
	}
}

// TestRunShutdownCutsStragglers checks -shutdown-timeout: a request still
// running when the graceful shutdown's time is up is cut (its context
// ends, its connection closes) and Run says so.
func TestRunShutdownCutsStragglers(t *testing.T) {
	entered, cut := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
		close(cut)
	})
	s := startServer(t, []string{"-shutdown-timeout", "200ms"}, h, nil)
	c := dial(t, s.addr)
	if _, err := io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: gw\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-time.After(guard):
		t.Fatal("the request never reached the handler")
	}
	s.cancel()
	select {
	case err := <-s.done:
		if err == nil || !strings.Contains(err.Error(), "shutdown") {
			t.Errorf("Run after an unfinished shutdown: %v, want an error about the shutdown", err)
		}
		s.done <- err // for the cleanup
	case <-time.After(guard):
		t.Fatal("Run did not return")
	}
	select {
	case <-cut:
	case <-time.After(guard):
		t.Fatal("the straggling request outlived Run")
	}
	waitClosed(t, c, "straggler")
}
