package authority

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// String describes the request without the password.
func (r PasswordRequest) String() string {
	return fmt.Sprintf("authority.PasswordRequest{Username:%q Password:%s Scopes:%q}", r.Username, redacted(r.Password), r.Scopes)
}

// GoString is String.
func (r PasswordRequest) GoString() string { return r.String() }

// Format prints String for every verb.
func (r PasswordRequest) Format(f fmt.State, verb rune) { formatRedacted(f, verb, r.String()) }

// String describes the request without the refresh token.
func (r RefreshRequest) String() string {
	return fmt.Sprintf("authority.RefreshRequest{RefreshToken:%s Scopes:%q}", redacted(r.RefreshToken), r.Scopes)
}

// GoString is String.
func (r RefreshRequest) GoString() string { return r.String() }

// Format prints String for every verb.
func (r RefreshRequest) Format(f fmt.State, verb rune) { formatRedacted(f, verb, r.String()) }

// String describes the request without the subject or actor token.
func (r ExchangeRequest) String() string {
	return fmt.Sprintf("authority.ExchangeRequest{SubjectToken:%s SubjectTokenType:%q ActorToken:%s Audiences:%q Resources:%q Scopes:%q RequestedTokenType:%q}",
		redacted(r.SubjectToken), r.SubjectTokenType, redacted(r.ActorToken), r.Audiences, r.Resources, r.Scopes, r.RequestedTokenType)
}

// GoString is String.
func (r ExchangeRequest) GoString() string { return r.String() }

// Format prints String for every verb.
func (r ExchangeRequest) Format(f fmt.State, verb rune) { formatRedacted(f, verb, r.String()) }

// LogValue implements [slog.LogValuer] without the password.
func (r PasswordRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("username", r.Username), slog.Any("scopes", r.Scopes))
}

// LogValue implements [slog.LogValuer] without the refresh token.
func (r RefreshRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("scopes", r.Scopes))
}

// LogValue implements [slog.LogValuer] without the subject or actor token.
func (r ExchangeRequest) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("subject_token_type", r.SubjectTokenType),
		slog.Bool("actor_token", r.ActorToken != ""),
		slog.Any("audiences", r.Audiences),
		slog.Any("resources", r.Resources),
		slog.Any("scopes", r.Scopes),
		slog.String("requested_token_type", r.RequestedTokenType),
	)
}

// LogValue implements [slog.LogValuer] without the client secret or key.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("issuer", c.Issuer),
		slog.String("token_url", c.TokenURL),
		slog.String("client_id", c.ClientID),
		slog.String("auth_method", string(c.AuthMethod)),
	)
}

// MarshalJSON writes the request without the password, so that a JSON log
// handler marshaling a value that holds it does not leak it.
// Its error is always nil.
func (r PasswordRequest) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Username string   `json:"username"`
		Password string   `json:"password"`
		Scopes   []string `json:"scopes,omitempty"`
	}{r.Username, redacted(r.Password), r.Scopes})
}

// MarshalJSON writes the request without the refresh token.
// Its error is always nil.
func (r RefreshRequest) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		RefreshToken string   `json:"refresh_token"`
		Scopes       []string `json:"scopes,omitempty"`
	}{redacted(r.RefreshToken), r.Scopes})
}

// MarshalJSON writes the request without the subject or actor token.
// Its error is always nil.
func (r ExchangeRequest) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		SubjectToken       string   `json:"subject_token"`
		SubjectTokenType   string   `json:"subject_token_type,omitempty"`
		ActorToken         string   `json:"actor_token"`
		Audiences          []string `json:"audiences,omitempty"`
		Resources          []string `json:"resources,omitempty"`
		Scopes             []string `json:"scopes,omitempty"`
		RequestedTokenType string   `json:"requested_token_type,omitempty"`
	}{redacted(r.SubjectToken), r.SubjectTokenType, redacted(r.ActorToken), r.Audiences, r.Resources, r.Scopes, r.RequestedTokenType})
}

// MarshalJSON writes the configuration without the client secret or the
// signer.
// Its error is always nil.
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Issuer           string `json:"issuer,omitempty"`
		TokenURL         string `json:"token_url,omitempty"`
		ClientID         string `json:"client_id"`
		ClientSecret     string `json:"client_secret"`
		Signer           string `json:"signer"`
		KeyID            string `json:"key_id,omitempty"`
		Certificate      string `json:"certificate"`
		SigningAlgorithm string `json:"signing_algorithm,omitempty"`
		AuthMethod       string `json:"auth_method,omitempty"`
	}{c.Issuer, c.TokenURL, c.ClientID, redacted(c.ClientSecret), redactedSigner(c.Signer), c.KeyID, certificateName(c.Certificate), string(c.SigningAlgorithm), string(c.AuthMethod)})
}

// String describes the client without its secrets: the configuration as
// [Config.String] prints it.
func (c *Client) String() string { return "authority.Client{" + c.cfg.String() + "}" }

// GoString is String.
func (c *Client) GoString() string { return c.String() }

// Format prints String for every verb, so that %+v and %#v, which would
// otherwise print the unexported configuration, never show a secret.
func (c *Client) Format(f fmt.State, verb rune) { formatRedacted(f, verb, c.String()) }

// LogValue implements [slog.LogValuer] without the secrets.
func (c *Client) LogValue() slog.Value { return c.cfg.LogValue() }

// String describes the token source without its secrets.
func (s *CachedSource) String() string {
	return fmt.Sprintf("authority.TokenSource{client=%s grant=%s skew=%s}", c2s(s.client), grantString(s.grant), s.skew)
}

// GoString is String.
func (s *CachedSource) GoString() string { return s.String() }

// Format prints String for every verb, so that %+v and %#v never show the
// grant's password or the cached tokens.
func (s *CachedSource) Format(f fmt.State, verb rune) { formatRedacted(f, verb, s.String()) }

// LogValue implements [slog.LogValuer] without the secrets.
func (s *CachedSource) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", s.client.cfg.ClientID), slog.String("grant", grantString(s.grant)), slog.Duration("skew", s.skew))
}

func c2s(c *Client) string {
	if c == nil {
		return "nil"
	}
	return c.cfg.ClientID
}

// grantString names a grant without printing what it holds: a Grant of
// another package is named by its type only.
func grantString(g Grant) string {
	switch g := g.(type) {
	case ClientCredentialsRequest:
		return "client_credentials"
	case PasswordRequest:
		return "password(" + g.Username + ")"
	default:
		return fmt.Sprintf("%T", g)
	}
}
