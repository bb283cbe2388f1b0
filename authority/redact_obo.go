package authority

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// String describes the request without the assertion.
func (r OnBehalfOfRequest) String() string {
	return fmt.Sprintf("authority.OnBehalfOfRequest{Assertion:%s Scopes:%q}", redacted(r.Assertion), r.Scopes)
}

// GoString is String.
func (r OnBehalfOfRequest) GoString() string { return r.String() }

// Format prints String for every verb.
func (r OnBehalfOfRequest) Format(f fmt.State, verb rune) { formatRedacted(f, verb, r.String()) }

// LogValue implements [slog.LogValuer] without the assertion.
func (r OnBehalfOfRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("scopes", r.Scopes))
}

// MarshalJSON writes the request without the assertion.
// Its error is always nil.
func (r OnBehalfOfRequest) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Assertion string   `json:"assertion"`
		Scopes    []string `json:"scopes,omitempty"`
	}{redacted(r.Assertion), r.Scopes})
}
