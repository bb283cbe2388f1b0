package jwt

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-tokenexchange/tokenexchange/internal/ratelog"
	"github.com/go-tokenexchange/tokenexchange/internal/semconv"
)

// scopeName is the instrumentation scope of the validator's meter and tracer.
const scopeName = "github.com/go-tokenexchange/tokenexchange/middleware/jwt"

// Span names.
const (
	fetchSpan     = "tokenexchange.jwks.fetch"
	discoverySpan = "tokenexchange.jwks.discovery"
)

// Attribute keys of the validator's instruments and spans.
const (
	outcomeKey       = semconv.Outcome
	triggerKey       = semconv.Trigger
	statusCodeKey    = semconv.HTTPStatusCode
	serverAddressKey = semconv.ServerAddress
	serverPortKey    = semconv.ServerPort
)

// logInterval is the least time between two log records of one kind.
const logInterval = time.Minute

// trigger is why a key set fetch ran: an index into triggerNames.
type trigger int

const (
	triggerStartup    trigger = iota // the fetch of New
	triggerBackground                // the keys were older than RefreshInterval
	triggerUnknownKid                // a token named a kid the set lacks
	numTriggers
)

var triggerNames = [numTriggers]string{
	triggerStartup:    "startup",
	triggerBackground: "background",
	triggerUnknownKid: "unknown_kid",
}

// outcome is how a fetch ended: an index into outcomeNames.
type outcome int

const (
	outcomeSuccess  outcome = iota
	outcomeError            // the server, the network or the key set failed; a timeout
	outcomeCanceled         // Close, or the context of New, ended it
	numOutcomes
)

var outcomeNames = [numOutcomes]string{
	outcomeSuccess:  "success",
	outcomeError:    "error",
	outcomeCanceled: "canceled",
}

// Why a fetch failed: the status description of its span, a closed set.
const (
	failTransport     = "transport"         // no HTTP response
	failStatus        = "http_status"       // a status other than 200
	failBody          = "read_body"         // the body could not be read or exceeds 1 MiB
	failMalformed     = "malformed_key_set" // not a JWK Set
	failNoUsableKeys  = "no_usable_keys"    // a JWK Set without a usable signing key
	failTimeout       = "timeout"
	failCanceled      = "canceled"
	failNoJWKSURI     = "no_jwks_uri" // discovery: the metadata names no key set
	failDiscoveryFail = "discovery"   // discovery: no document accepted
)

// fetchResult is what one key set fetch did, for its span, metric and log.
type fetchResult struct {
	status  int    // HTTP status, 0 when there was no response
	failure string // one of the fail constants, "" on success
	keys    int    // usable keys loaded, on success
	err     error
}

// telemetry holds the validator's instruments, its tracer and its log
// limiter, with the attribute sets of every fetch precomputed.
type telemetry struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	log    *ratelog.Limiter

	fetches   metric.Int64Counter
	keysGauge metric.Int64ObservableGauge
	meter     metric.Meter
	verified  verifiedTelemetry

	fetchOpts  [numTriggers][numOutcomes][]metric.AddOption
	spanStart  [numTriggers][]trace.SpanStartOption
	server     []attribute.KeyValue // server.address and server.port of the key set
	discServer []attribute.KeyValue // those of the issuer, for discovery
}

// newTelemetry resolves the providers, propagator and logger of cfg
// (the globals and slog.Default() for those it leaves nil) and creates the
// instruments; one that cannot be created is replaced by a no-op one, the
// error going to otel.Handle. logNow is the log limiter's clock.
func newTelemetry(cfg Config, logNow func() time.Time) *telemetry {
	t := &telemetry{
		tracer:     semconv.TracerProvider(cfg.TracerProvider).Tracer(scopeName),
		prop:       cfg.Propagator,
		log:        ratelog.New(cfg.Logger, logInterval, logNow),
		meter:      semconv.MeterProvider(cfg.MeterProvider).Meter(scopeName),
		discServer: serverAttributes(cfg.Issuer),
	}
	if t.prop == nil {
		t.prop = otel.GetTextMapPropagator()
	}
	t.fetches = semconv.Int64Counter(t.meter, "tokenexchange.jwks.fetches", "{fetch}",
		"Key set (JWKS) fetches of the JWT validator, by trigger (startup, background, unknown_kid) and outcome (success, error, canceled).")
	t.keysGauge = semconv.Int64ObservableGauge(t.meter, "tokenexchange.jwks.keys", "{key}",
		"Usable signing keys the JWT validator currently holds.")
	for tr := range numTriggers {
		trig := triggerKey.String(triggerNames[tr])
		for o := range numOutcomes {
			t.fetchOpts[tr][o] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(trig, outcomeKey.String(outcomeNames[o])))}
		}
	}
	return t
}

// setServer sets the key set's URL, for the attributes of its fetches.
func (t *telemetry) setServer(jwksURL string) {
	t.server = serverAttributes(jwksURL)
	for tr := range numTriggers {
		opts := []trace.SpanStartOption{
			trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(triggerKey.String(triggerNames[tr])),
			trace.WithAttributes(t.server...),
		}
		if tr != triggerStartup {
			opts = append(opts, trace.WithNewRoot())
		}
		t.spanStart[tr] = opts
	}
}

// serverAttributes returns server.address and server.port of a URL
// from the configuration (never one from a request).
func serverAttributes(raw string) []attribute.KeyValue {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return nil
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	kvs := []attribute.KeyValue{serverAddressKey.String(u.Hostname())}
	if n, err := strconv.Atoi(port); err == nil {
		kvs = append(kvs, serverPortKey.Int(n))
	}
	return kvs
}

// startFetch starts the span of a fetch for why: a child of ctx at
// startup, otherwise a root, linked to link when that is valid.
func (t *telemetry) startFetch(ctx context.Context, why trigger, link trace.Link) (context.Context, trace.Span) {
	opts := t.spanStart[why]
	if link.SpanContext.IsValid() {
		opts = append(opts[:len(opts):len(opts)], trace.WithLinks(link))
	}
	return t.tracer.Start(ctx, fetchSpan, opts...)
}

// outcomeOf returns the outcome of a fetch that ended with res on ctx.
func outcomeOf(res *fetchResult) outcome {
	switch res.failure {
	case "":
		return outcomeSuccess
	case failCanceled:
		return outcomeCanceled
	}
	return outcomeError
}

// endFetch counts a fetch, sets its span's outcome and ends it.
func (t *telemetry) endFetch(ctx context.Context, span trace.Span, why trigger, res *fetchResult) {
	o := outcomeOf(res)
	t.fetches.Add(ctx, 1, t.fetchOpts[why][o]...)
	if span.IsRecording() {
		span.SetAttributes(outcomeKey.String(outcomeNames[o]))
		if res.status != 0 {
			span.SetAttributes(statusCodeKey.Int(res.status))
		}
		if res.failure != "" {
			span.SetStatus(codes.Error, res.failure)
		}
	}
	span.End()
}

// failureOf classifies err, the error of a fetch on ctx that got an
// HTTP response with status (0 for none), in the closed set of the fail
// constants.
func failureOf(ctx context.Context, status int, err error) string {
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled):
		return failCanceled
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		return failTimeout
	case status == 0:
		return failTransport
	default:
		return failStatus
	}
}

// logFetch writes the record of a fetch that ended in the background
// (a refresh or an unknown kid's refetch): Warn for a failure, Info for
// the first success after failures (failures of them), Debug otherwise.
// A canceled fetch (Close) is not logged.
func (t *telemetry) logFetch(why trigger, res *fetchResult, failures int, retryIn time.Duration) {
	ctx := context.Background()
	switch {
	case res.failure == failCanceled:
	case res.err != nil && why == triggerUnknownKid:
		t.log.Log(ctx, slog.LevelWarn, "jwt: key set refetch for an unknown kid failed",
			"error", res.err, "failure", res.failure, "retry_in", retryIn)
	case res.err != nil:
		t.log.Log(ctx, slog.LevelWarn, "jwt: key set refresh failed; the keys held keep serving",
			"error", res.err, "failure", res.failure, "retry_in", retryIn)
	case failures > 0:
		t.log.Log(ctx, slog.LevelInfo, "jwt: key set fetched again after failures",
			"trigger", triggerNames[why], "failures", failures, "keys", res.keys)
	default:
		t.log.Log(ctx, slog.LevelDebug, "jwt: key set fetched",
			"trigger", triggerNames[why], "keys", res.keys)
	}
}
