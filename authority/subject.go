package authority

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
)

// SubjectToken is a caller's bearer token together with its SHA-256,
// computed at most once however many times it is asked for. The inbound
// middleware makes one per request; the validator, every exchange of the
// request and every cache key derive from it without hashing the token
// again.
//
// A SubjectToken is a small value: copies share the token and its digest.
// The zero value holds no token. It is safe for concurrent use.
//
// Printing a SubjectToken, with any verb, or logging or marshaling it, never
// shows the token.
type SubjectToken struct {
	s *subjectToken
}

// subjectToken is what the copies of a SubjectToken share.
type subjectToken struct {
	raw  string
	once sync.Once
	sum  [sha256.Size]byte
}

// NewSubjectToken returns a SubjectToken for raw. It does not hash raw:
// the digest is computed on the first call to [SubjectToken.Digest].
func NewSubjectToken(raw string) SubjectToken {
	if raw == "" {
		return SubjectToken{}
	}
	return SubjectToken{s: &subjectToken{raw: raw}}
}

// Value returns the token as it was received. It is the one accessor that
// reveals the token: use it only to send the token where it belongs.
func (t SubjectToken) Value() string {
	if t.s == nil {
		return ""
	}
	return t.s.raw
}

// IsZero reports whether t holds no token.
func (t SubjectToken) IsZero() bool { return t.s == nil }

// Len returns the length of the token in bytes.
func (t SubjectToken) Len() int {
	if t.s == nil {
		return 0
	}
	return len(t.s.raw)
}

// Digest returns the SHA-256 of the token, computing it on the first call
// only. The digest of the zero SubjectToken is the SHA-256 of no bytes.
func (t SubjectToken) Digest() [sha256.Size]byte {
	if t.s == nil {
		return sha256.Sum256(nil)
	}
	t.s.once.Do(func() { t.s.sum = sha256.Sum256([]byte(t.s.raw)) })
	return t.s.sum
}

// String describes the token without revealing it.
func (t SubjectToken) String() string {
	if t.s == nil {
		return "authority.SubjectToken(none)"
	}
	return "authority.SubjectToken([redacted])"
}

// GoString is String: %#v must not print the token either.
func (t SubjectToken) GoString() string { return t.String() }

// Format prints String for every verb, so that %+v and %#v, which would
// otherwise print the token, never show it.
func (t SubjectToken) Format(f fmt.State, verb rune) { formatRedacted(f, verb, t.String()) }

// LogValue implements [slog.LogValuer]: it logs whether there is a token,
// never the token.
func (t SubjectToken) LogValue() slog.Value {
	return slog.GroupValue(slog.Bool("present", t.s != nil))
}

// MarshalJSON writes the token redacted, so that a JSON log handler
// marshaling a value that holds a SubjectToken does not leak it.
// Its error is always nil.
func (t SubjectToken) MarshalJSON() ([]byte, error) {
	if t.s == nil {
		return []byte("null"), nil
	}
	return json.Marshal(redacted(t.s.raw))
}
