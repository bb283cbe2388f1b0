package authority

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Token is a token issued by the authorization server (RFC 6749 §5.1,
// RFC 8693 §2.2.1).
//
// Printing a Token with any fmt verb, logging it with log/slog or marshaling
// it to JSON shows its type, scope and expiry but never AccessToken or
// RefreshToken.
type Token struct {
	// AccessToken is the issued token, sent as "Authorization: Bearer".
	AccessToken string
	// TokenType is "Bearer" for access tokens, "N_A" for other kinds
	// (RFC 8693 §2.2.1). Empty in the reply is read as "Bearer".
	TokenType string
	// IssuedTokenType is the RFC 8693 issued_token_type; empty for the
	// other grants.
	IssuedTokenType string
	// RefreshToken may be empty.
	RefreshToken string
	// Expiry is when AccessToken stops being valid, counted from the moment
	// the request was sent. When the server gave no expires_in it is the
	// client's default lifetime, never "forever"; see also ZeroLifetime.
	Expiry time.Time
	// Scope is the granted scope, space-separated, when the server said.
	Scope string

	// zeroLifetime is set when the server said expires_in under one
	// second; see ZeroLifetime.
	zeroLifetime bool
}

// ZeroLifetime reports whether the server gave the token no lifetime: an
// expires_in under one second (RFC 6749 §5.1), which is not the same as
// none at all (then Expiry is the client's default lifetime). Such a
// token's Expiry is the moment the request was sent, so it is already
// Expired: it may be handed to the callers of the request that obtained
// it, for immediate use, but must never be cached or handed out again.
func (t *Token) ZeroLifetime() bool { return t != nil && t.zeroLifetime }

// Expired reports whether the token has expired at now.
func (t *Token) Expired(now time.Time) bool {
	return t == nil || t.AccessToken == "" || !now.Before(t.Expiry)
}

// ExpiresWithin reports whether the token expires within d of now (or is
// already expired).
func (t *Token) ExpiresWithin(now time.Time, d time.Duration) bool {
	return t == nil || t.AccessToken == "" || !now.Add(d).Before(t.Expiry)
}

// Scopes returns the granted scopes as a slice.
func (t *Token) Scopes() []string { return strings.Fields(t.Scope) }

// String describes the token without its secrets.
func (t Token) String() string {
	var b strings.Builder
	b.WriteString("authority.Token{type=")
	b.WriteString(t.TokenType)
	if t.IssuedTokenType != "" {
		b.WriteString(" issued_token_type=")
		b.WriteString(t.IssuedTokenType)
	}
	if t.Scope != "" {
		fmt.Fprintf(&b, " scope=%q", t.Scope)
	}
	if !t.Expiry.IsZero() {
		b.WriteString(" expiry=")
		b.WriteString(t.Expiry.UTC().Format(time.RFC3339))
	}
	b.WriteString(" access_token=")
	b.WriteString(redacted(t.AccessToken))
	b.WriteString(" refresh_token=")
	b.WriteString(redacted(t.RefreshToken))
	b.WriteString("}")
	return b.String()
}

// GoString is String: %#v must not print secrets either.
func (t Token) GoString() string { return t.String() }

// Format prints String for every verb, so that %v, %+v, %#v, %s and %q
// never show a secret.
func (t Token) Format(f fmt.State, verb rune) { formatRedacted(f, verb, t.String()) }

// LogValue implements [slog.LogValuer] without the secrets.
func (t Token) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("token_type", t.TokenType),
		slog.Time("expiry", t.Expiry),
		slog.Bool("refresh_token", t.RefreshToken != ""),
	}
	if t.IssuedTokenType != "" {
		attrs = append(attrs, slog.String("issued_token_type", t.IssuedTokenType))
	}
	if t.Scope != "" {
		attrs = append(attrs, slog.String("scope", t.Scope))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON writes the token without its secrets, so that a Token inside
// a value that a JSON log handler marshals does not leak. To store a token,
// copy its fields into a type of your own. It fails only for an Expiry
// outside the years 0 to 9999, which time.Time cannot write as JSON.
func (t Token) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		TokenType       string    `json:"token_type"`
		IssuedTokenType string    `json:"issued_token_type,omitempty"`
		Scope           string    `json:"scope,omitempty"`
		Expiry          time.Time `json:"expiry"`
		AccessToken     string    `json:"access_token"`
		RefreshToken    string    `json:"refresh_token"`
	}{t.TokenType, t.IssuedTokenType, t.Scope, t.Expiry, redacted(t.AccessToken), redacted(t.RefreshToken)})
}

// redacted stands in for a secret in printed output: it says whether there
// was one, never what it was.
func redacted(secret string) string {
	if secret == "" {
		return "none"
	}
	return "[redacted]"
}

// formatRedacted writes s for any verb; %q quotes it.
func formatRedacted(f fmt.State, verb rune, s string) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", s)
		return
	}
	_, _ = f.Write([]byte(s))
}
