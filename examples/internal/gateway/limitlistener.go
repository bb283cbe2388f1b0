package gateway

import (
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
)

// limitListener accepts at most n connections at once, like
// golang.org/x/net/netutil.LimitListener: at the limit, Accept waits
// until an accepted connection closes, and new connections wait in the
// kernel's accept queue (they are not refused). Each time it starts
// waiting after having had a free slot, it logs a warning.
type limitListener struct {
	net.Listener
	sem       chan struct{} // one element per open connection
	done      chan struct{} // closed by Close
	closeOnce sync.Once
	log       *slog.Logger
	warned    atomic.Bool // the current saturation has been logged
}

// newLimitListener returns ln limited to n open connections.
func newLimitListener(ln net.Listener, n int, logger *slog.Logger) *limitListener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{}), log: logger}
}

// Accept waits for a free slot, then for a connection.
func (l *limitListener) Accept() (net.Conn, error) {
	if !l.acquire() {
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

// acquire takes a slot, waiting when there is none; false when l was
// closed first.
func (l *limitListener) acquire() bool {
	select {
	case <-l.done:
		return false
	case l.sem <- struct{}{}:
		l.warned.Store(false)
		return true
	default:
	}
	if !l.warned.Swap(true) {
		l.log.Warn("connection limit reached: new connections wait for one to close", "max_conns", cap(l.sem))
	}
	select {
	case <-l.done:
		return false
	case l.sem <- struct{}{}:
		return true
	}
}

// Close closes the listener and ends a waiting Accept.
func (l *limitListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

// limitConn frees its slot when first closed.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

// Close closes the connection and frees its slot.
func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
