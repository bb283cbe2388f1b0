package authority

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
)

// SubjectToken is a caller's bearer token together with its SHA-256,
// computed once however many times it is asked for. The inbound
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
	raw   string
	state atomic.Uint32 // digestNone, digestBusy or digestDone
	sum   [sha256.Size]byte
}

// The states of subjectToken.sum. Only the caller that moves the state
// from digestNone to digestBusy writes sum; it is read only after the
// state is digestDone.
const (
	digestNone uint32 = iota
	digestBusy
	digestDone
)

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

// Digest returns the SHA-256 of the token. The first call computes and
// keeps it; later calls return the kept digest. Calls that overlap the
// first compute it too rather than wait (so the digest of a token is
// computed once per request unless its first uses race). The digest of
// the zero SubjectToken is the SHA-256 of no bytes. It does not allocate,
// and unlike a sync.Once it does not make the SubjectToken escape.
func (t SubjectToken) Digest() [sha256.Size]byte {
	s := t.s
	if s == nil {
		return sha256.Sum256(nil)
	}
	if s.state.Load() == digestDone {
		return s.sum
	}
	sum := sumString(s.raw)
	if s.state.CompareAndSwap(digestNone, digestBusy) {
		s.sum = sum
		s.state.Store(digestDone)
	}
	return sum
}

// sumString is sha256.Sum256([]byte(raw)) without the copy to the heap
// that the conversion of a string longer than 32 bytes costs: it feeds the
// hash from a buffer on the stack.
func sumString(raw string) (sum [sha256.Size]byte) {
	h := sha256.New()
	var buf [512]byte
	for len(raw) > 0 {
		n := copy(buf[:], raw)
		h.Write(buf[:n])
		raw = raw[n:]
	}
	h.Sum(sum[:0])
	return sum
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
