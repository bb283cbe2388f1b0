package outbound_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/outbound"
)

// wireServer is a TCP listener that records the header lines of each HTTP
// request it reads, answering each with an empty 200.
type wireServer struct {
	ln   net.Listener
	reqs chan []string // the header lines of each request, request line first
	done chan struct{} // closed when the accept loop has returned
}

func newWireServer(t *testing.T) *wireServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &wireServer{ln: ln, reqs: make(chan []string, 16), done: make(chan struct{})}
	go s.serve()
	t.Cleanup(func() { s.stop() })
	return s
}

func (s *wireServer) serve() {
	defer close(s.done)
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.handle(c)
	}
}

// handle reads one request's head (the requests here have no body).
func (s *wireServer) handle(c net.Conn) {
	defer c.Close()
	r := textproto.NewReader(bufio.NewReader(c))
	var lines []string
	for {
		line, err := r.ReadLine()
		if err != nil {
			return
		}
		if line == "" {
			break
		}
		lines = append(lines, line)
	}
	s.reqs <- lines
	_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
}

// stop closes the listener and waits for the accept loop, so that every
// request that reached it has been recorded.
func (s *wireServer) stop() {
	_ = s.ln.Close()
	<-s.done
}

// hostLines returns the request's header lines named Host in any case.
func hostLines(lines []string) []string {
	var out []string
	for _, l := range lines[1:] {
		if k, _, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, "Host") {
			out = append(out, l)
		}
	}
	return out
}

// TestHostField: a header field named Host in any spelling, set in the
// request's Header map, is refused: net/http writes a non-canonical one as
// a second Host line beside the URL's, and a server or ingress taking that
// one would hand the route's token to another service. A Host trailer is
// refused too (RFC 9110 §6.5.1 forbids routing fields in trailers). The
// request's Host field (Request.Host) is the only way to set Host.
func TestHostField(t *testing.T) {
	srv := newWireServer(t)
	base := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(base.CloseIdleConnections)
	url := "http://" + srv.ln.Addr().String()
	tr := newTransport(t, outbound.Options{Base: base, Routes: []outbound.Route{
		{URL: url, Mode: outbound.ModeOwnToken, Tokens: &staticTokens{name: "own"}},
	}})
	tests := []struct {
		name            string
		header, trailer map[string][]string
	}{
		{"lower-case key", map[string][]string{"host": {"evil.example"}}, nil},
		{"upper-case key", map[string][]string{"HOST": {"evil.example"}}, nil},
		{"mixed-case key", map[string][]string{"hOsT": {"evil.example"}}, nil},
		{"canonical key", map[string][]string{"Host": {"evil.example"}}, nil},
		{"the URL's own host, lower-case key", map[string][]string{"host": {srv.ln.Addr().String()}}, nil},
		{"empty value", map[string][]string{"host": {""}}, nil},
		{"trailer", nil, map[string][]string{"host": nil}},
		{"canonical trailer", nil, map[string][]string{"Host": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url+"/x", nil)
			require.NoError(t, err)
			for k, v := range tt.header {
				req.Header[k] = v
			}
			if tt.trailer != nil {
				req.Trailer = tt.trailer
			}
			resp, err := tr.RoundTrip(req)
			if resp != nil {
				_ = resp.Body.Close()
			}
			require.ErrorIs(t, err, outbound.ErrHostMismatch)
			assert.Nil(t, resp)
		})
	}

	// Without such a field the request goes, with one Host line.
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url+"/x", nil)
	require.NoError(t, err)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	_ = resp.Body.Close()

	srv.stop()
	close(srv.reqs)
	var sent [][]string
	for lines := range srv.reqs {
		sent = append(sent, lines)
	}
	require.Len(t, sent, 1, "only the request without a Host field reached the wire")
	assert.Equal(t, []string{"Host: " + srv.ln.Addr().String()}, hostLines(sent[0]))
}
