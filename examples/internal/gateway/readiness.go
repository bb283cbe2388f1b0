package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/internal/ratelog"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/introspect"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
)

// Timings of the loading of what the gateway needs from the authority:
// its metadata (discovery, without -token-url) and, with -jwks-url, its
// signing keys.
const (
	// startupAttemptTimeout bounds the one attempt New makes: a gateway
	// in front of an unreachable authority still starts, soon.
	startupAttemptTimeout = 5 * time.Second
	// retryAttemptTimeout bounds each attempt in the background.
	retryAttemptTimeout = 10 * time.Second
	// retryMin and retryMax bound the backoff between attempts in the
	// background: 1s, 2s, 4s, ... up to 30s.
	retryMin, retryMax = time.Second, 30 * time.Second
	// keysRetryAfter is the Retry-After of the 503 answered while the
	// signing keys are not loaded.
	keysRetryAfter = 5 * time.Second
)

// errNotLoaded is the cause of the 503 answered while the signing keys are
// not loaded.
var errNotLoaded = errors.New("gateway: the signing keys are not loaded yet")

// readiness loads what the gateway needs from the authority and says
// whether it has it. The metadata is needed only without -token-url, the
// keys only with -jwks-url.
type readiness struct {
	client *authority.Client  // nil when no metadata is needed
	keys   *jwt.Config        // nil without -jwks-url
	intro  *introspect.Config // nil without introspection
	log    *ratelog.Limiter

	validator  atomic.Pointer[jwt.Validator]        // once loaded
	introspect atomic.Pointer[introspect.Validator] // once loaded

	mu          sync.Mutex
	metadataErr error // why the metadata is not loaded; nil once it is
	keysErr     error // why the keys are not loaded; nil once they are
	introErr    error // why the introspection endpoint is not known; nil once it is

	cancel context.CancelFunc // ends the retries
	done   chan struct{}      // closed when the retries have returned
}

// load makes one attempt to get what is still missing, each part under
// its own deadline of timeout, and reports whether all is loaded.
func (rd *readiness) load(ctx context.Context, timeout time.Duration) bool {
	rd.mu.Lock()
	needMeta, needKeys, needIntro := rd.metadataErr != nil, rd.keysErr != nil, rd.introErr != nil
	rd.mu.Unlock()
	if needMeta {
		actx, cancel := context.WithTimeout(ctx, timeout)
		_, err := rd.client.Metadata(actx)
		cancel()
		rd.set(&rd.metadataErr, err)
		needMeta = err != nil
	}
	if needKeys {
		actx, cancel := context.WithTimeout(ctx, timeout)
		v, err := jwt.New(actx, *rd.keys)
		cancel()
		if err == nil {
			rd.validator.Store(v)
		}
		rd.set(&rd.keysErr, err)
		needKeys = err != nil
	}
	if needIntro {
		actx, cancel := context.WithTimeout(ctx, timeout)
		v, err := introspect.New(actx, *rd.intro)
		cancel()
		if err == nil {
			rd.introspect.Store(v)
		}
		rd.set(&rd.introErr, err)
		needIntro = err != nil
	}
	return !needMeta && !needKeys && !needIntro
}

func (rd *readiness) set(p *error, err error) {
	rd.mu.Lock()
	*p = err
	rd.mu.Unlock()
}

// start retries in the background, with capped exponential backoff, until
// everything is loaded or stop is called.
func (rd *readiness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	rd.cancel, rd.done = cancel, make(chan struct{})
	go func() {
		defer close(rd.done)
		delay := retryMin
		timer := time.NewTimer(delay)
		defer timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			if rd.load(ctx, retryAttemptTimeout) {
				rd.log.Log(ctx, slog.LevelInfo, "authority reachable: the gateway is ready")
				return
			}
			if ctx.Err() != nil {
				return
			}
			delay = min(2*delay, retryMax)
			rd.log.Log(ctx, slog.LevelWarn, "authority still unreachable: not ready, retrying", "error", rd.err(), "retry_in", delay)
			timer.Reset(delay)
		}
	}()
}

// stop ends the retries and waits for them, then closes the validators.
func (rd *readiness) stop() {
	if rd.cancel != nil {
		rd.cancel()
		<-rd.done
	}
	if v := rd.validator.Load(); v != nil {
		v.Close()
	}
	if v := rd.introspect.Load(); v != nil {
		v.Close()
	}
}

// err returns why the gateway is not ready, nil when it is: one line.
func (rd *readiness) err() error {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	switch {
	case rd.metadataErr != nil:
		return fmt.Errorf("authority metadata: %w", rd.metadataErr)
	case rd.keysErr != nil:
		return fmt.Errorf("signing keys: %w", rd.keysErr)
	case rd.introErr != nil:
		return fmt.Errorf("introspection endpoint: %w", rd.introErr)
	}
	if v := rd.validator.Load(); v != nil {
		if err := v.Ready(); err != nil {
			return fmt.Errorf("signing keys: %w", err)
		}
	}
	if v := rd.introspect.Load(); v != nil {
		if err := v.Ready(); err != nil {
			return fmt.Errorf("introspection endpoint: %w", err)
		}
	}
	return nil
}

// Validate implements middleware.Validator: it validates with the loaded
// validator, or refuses with 503 and Retry-After (middleware.ErrUnavailable)
// while the keys are not loaded.
func (rd *readiness) Validate(ctx context.Context, token authority.SubjectToken) (*middleware.Claims, error) {
	if v := rd.validator.Load(); v != nil {
		return v.Validate(ctx, token)
	}
	return nil, &middleware.Error{
		Code:        middleware.CodeTemporarilyUnavailable,
		Description: "the gateway has not loaded the signing keys yet",
		Status:      http.StatusServiceUnavailable,
		RetryAfter:  keysRetryAfter,
		Err:         fmt.Errorf("%w: %w", middleware.ErrKeysUnavailable, errNotLoaded),
	}
}

// Readyz answers 200 "ready" when the gateway has what it needs from the
// authority: its metadata (discovery, when there is no -token-url),
// with -jwks-url its signing keys, and with introspection its endpoint,
// whose last introspection must have been answered. Otherwise it answers 503
// with one line of plain text saying what is missing and why, such as
// "not ready: authority metadata: ...". It needs no token and depends on
// nothing else (no downstream, no cache tier): use it as the readiness
// probe, and [Gateway.Healthz] as the liveness probe.
func (g *Gateway) Readyz(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if err := g.ready.err(); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(oneLine("not ready: "+err.Error()) + "\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// oneLine replaces the line breaks and other control characters of s by
// spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
