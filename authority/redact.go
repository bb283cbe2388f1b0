package authority

import "fmt"

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
