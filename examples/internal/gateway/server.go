package gateway

import (
	"log/slog"
	"net"
	"net/http"
	"time"
)

// readHeaderTimeout bounds the reading of a request's headers.
const readHeaderTimeout = 10 * time.Second

// maxHeaderBytes bounds a request's headers: a large JWT (the inbound
// middleware takes up to 16 KiB) fits several times over, and the
// connections at the limit hold far less than net/http's 1 MiB default.
const maxHeaderBytes = 64 << 10

// newServer returns the gateway's HTTP server for h, with the limits of
// cfg (defaults applied): every wait on a client is bounded, except the
// writing of a response when cfg.WriteTimeout is zero.
func newServer(cfg Config, h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(readHeaderTimeout, cfg.ReadTimeout),
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// listen opens the gateway's listener on cfg.Listen, limited to
// cfg.MaxConns open connections (defaults applied).
func listen(cfg Config, logger *slog.Logger) (net.Listener, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, err
	}
	return newLimitListener(ln, cfg.MaxConns, logger), nil
}
