package ratelog

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLimiter(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	now := time.Unix(1_000_000, 0)
	l := New(logger, time.Minute, func() time.Time { return now })
	ctx := context.Background()

	l.Log(ctx, slog.LevelWarn, "refresh failed", "n", 1) // first: written
	l.Log(ctx, slog.LevelWarn, "refresh failed", "n", 2) // held back
	l.Log(ctx, slog.LevelWarn, "refresh failed", "n", 3) // held back
	l.Log(ctx, slog.LevelWarn, "fetch failed", "n", 4)   // another kind: written
	l.Log(ctx, slog.LevelDebug, "refresh failed")        // level off: not counted
	now = now.Add(time.Minute)
	l.Log(ctx, slog.LevelWarn, "refresh failed", "n", 5) // written, 2 held back

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		`msg="refresh failed" n=1`,
		`msg="fetch failed" n=4`,
		`msg="refresh failed" n=5 suppressed=2`,
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		if !strings.HasSuffix(lines[i], w) {
			t.Errorf("line %d = %q, want suffix %q", i, lines[i], w)
		}
	}
}

func TestLimiterDefaults(t *testing.T) {
	l := New(nil, 0, nil)
	if l.Logger() != slog.Default() || l.every != time.Minute || l.now == nil {
		t.Fatalf("defaults not applied: %+v", l)
	}
}

func TestLimiterBoundedKinds(t *testing.T) {
	var buf bytes.Buffer
	l := New(slog.New(slog.NewTextHandler(&buf, nil)), time.Hour, nil)
	for i := range maxKinds + 10 {
		l.Log(context.Background(), slog.LevelWarn, "kind"+strings.Repeat("x", i))
	}
	if len(l.kinds) != maxKinds {
		t.Fatalf("remembers %d kinds, want %d", len(l.kinds), maxKinds)
	}
	if n := strings.Count(buf.String(), "\n"); n != maxKinds+10 {
		t.Fatalf("wrote %d records, want %d", n, maxKinds+10)
	}
}
