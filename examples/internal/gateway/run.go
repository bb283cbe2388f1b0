package gateway

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// RunOptions are the surroundings of Run. The zero value is valid.
type RunOptions struct {
	// Stdout receives the walkthrough and the commands to try. If nil,
	// nothing is printed.
	Stdout io.Writer
	// Logger receives the ready line and the gateway's logs. If nil,
	// nothing is logged.
	Logger *slog.Logger
	// Ready, if set, is called with the gateway's base URL once it serves
	// and the walkthrough is done.
	Ready func(baseURL string)
}

// Main is the whole program of an example gateway named name: it reads
// the flags and environment, runs the gateway with the router newRouter
// builds until ctx ends (SIGINT or SIGTERM, in main), and returns the exit
// code: 2 for a bad flag, 1 when the gateway cannot run.
func Main(ctx context.Context, name string, args []string, getenv func(string) string, stdout, stderr io.Writer, newRouter func(*Gateway) http.Handler) int {
	cfg, err := ParseFlags(name, args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		Usage(stderr, name)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v (see -help)\n", name, err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if err := Run(ctx, cfg, newRouter, RunOptions{Stdout: stdout, Logger: logger}); err != nil {
		logger.Error("gateway failed", "error", err)
		return 1
	}
	return 0
}

// Run serves the gateway described by cfg, with the router newRouter
// builds, until ctx ends; then it shuts down gracefully, and cuts the
// requests still running after cfg.ShutdownTimeout (returning an error
// that says so). With no authority in cfg it first starts the embedded
// demo and, if cfg.Walkthrough, walks through the flow once.
func Run(ctx context.Context, cfg Config, newRouter func(*Gateway) http.Handler, opts RunOptions) error {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	out := opts.Stdout
	if out == nil {
		out = io.Discard
	}
	var demo *Demo
	if cfg.Embedded() {
		demo = StartDemo()
		defer demo.Close()
		cfg = demo.Configure(cfg)
	}
	g, err := New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer g.Close()
	cfg = cfg.withDefaults()
	cfg.Listen = cmp.Or(cfg.Listen, DefaultListen)
	ln, err := listen(cfg, logger)
	if err != nil {
		return err
	}
	srv := newServer(cfg, g.AccessLog(g.ProtectedResource(newRouter(g))), logger)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	logger.Info("gateway ready", "addr", ln.Addr().String(), "routes", len(cfg.Routes), "embedded", demo != nil, "redis", cfg.RedisURL != "",
		"max_conns", cfg.MaxConns, "idle_timeout", cfg.IdleTimeout, "read_timeout", cfg.ReadTimeout, "write_timeout", cfg.WriteTimeout)

	if demo != nil {
		if err := introduce(ctx, out, base, demo, g, cfg.Walkthrough); err != nil {
			_ = srv.Close()
			return err
		}
	}
	if opts.Ready != nil {
		opts.Ready(base)
	}
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("gateway shutting down")
	return shutdown(ctx, srv, cfg.ShutdownTimeout)
}

// shutdown stops srv gracefully: it stops accepting and waits up to
// timeout for the requests in flight. Those still running then are cut
// (their connections closed, their contexts ended), and the error says
// so.
func shutdown(ctx context.Context, srv *http.Server, timeout time.Duration) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err == nil {
		return nil
	}
	_ = srv.Close()
	return fmt.Errorf("graceful shutdown unfinished after %v, requests in flight cut: %w", timeout, err)
}

// introduce runs the walkthrough if asked, then prints what to try.
func introduce(ctx context.Context, out io.Writer, base string, d *Demo, g *Gateway, walk bool) error {
	if walk {
		if err := Walkthrough(ctx, out, base, d, g); err != nil {
			return fmt.Errorf("walkthrough: %w", err)
		}
	}
	return TryIt(ctx, out, base, d)
}
