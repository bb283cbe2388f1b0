package jwt

import (
	"context"
	"time"
)

// NewWithLogClock is New with the clock of the log limiter set to now, so
// that tests can drive the rate limit of the background logs.
func NewWithLogClock(ctx context.Context, cfg Config, now func() time.Time) (*Validator, error) {
	return newValidator(ctx, cfg, now)
}
