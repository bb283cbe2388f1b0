package exchange

import (
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// entryVersion is the first byte of the binary encoding of an [Entry].
const entryVersion = 1

// flagZeroLifetime marks a token the server gave no lifetime
// ([authority.Token.ZeroLifetime]).
const flagZeroLifetime = 1

// Layout of version 1: version and flags, three times, then five strings.
const (
	timeSize    = 8 + 4 // Unix seconds, nanoseconds
	entryHeader = 2 + 3*timeSize
)

// The instants an encoding holds: from year 1 to year 9999, UTC.
var (
	minUnix = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxUnix = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
)

// ErrMalformedEntry is returned by [Entry.UnmarshalBinary] for bytes that
// are not an encoding it knows: empty, of another version, truncated,
// followed by more bytes, or holding a value out of range. The error's
// message says which; it never quotes the bytes.
var ErrMalformedEntry = errors.New("exchange: malformed cache entry")

var (
	_ encoding.BinaryMarshaler   = (*Entry)(nil)
	_ encoding.BinaryAppender    = (*Entry)(nil)
	_ encoding.BinaryUnmarshaler = (*Entry)(nil)
)

// MarshalBinary encodes e for a [Cache] that stores bytes (a shared store
// such as Redis). [Entry.UnmarshalBinary] reads it back exactly: every
// field of the Entry and of its Token, the zero-lifetime marker included,
// with each time as the same instant (read back in UTC; a time's location
// and monotonic clock reading are not kept).
//
// The encoding, version 1, is (integers big-endian):
//
//	byte     version, 1
//	byte     flags: bit 0 set when Token.ZeroLifetime(); other bits 0
//	12 bytes Expires, 12 bytes RefreshAt, 12 bytes Token.Expiry, each as
//	         int64 seconds since the Unix epoch and uint32 nanoseconds
//	         (below 1e9); the zero time is 0001-01-01T00:00:00Z
//	         (-62135596800 seconds), and only years 1 to 9999 are allowed
//	then     Token.AccessToken, Token.TokenType, Token.IssuedTokenType,
//	         Token.RefreshToken and Token.Scope, each as a uint32 length
//	         and that many bytes
//
// and nothing after. The encoding of an Entry is unique: decoding then
// encoding gives the same bytes. A later version starts with another first
// byte; UnmarshalBinary refuses what it does not know.
//
// The bytes hold the access and refresh tokens in clear: a store shared
// over a network should encrypt them. (Marshaling an Entry to JSON, by
// contrast, redacts them, as [authority.Token.MarshalJSON] does: JSON is
// for logs, not for storage.)
//
// MarshalBinary returns an error, naming the field, for a nil Entry, an
// Entry without a Token, a time outside years 1 to 9999, or a string of
// 4 GiB or more.
func (e *Entry) MarshalBinary() ([]byte, error) {
	size := entryHeader
	if e != nil && e.Token != nil {
		t := e.Token
		size += 5*4 + len(t.AccessToken) + len(t.TokenType) + len(t.IssuedTokenType) + len(t.RefreshToken) + len(t.Scope)
	}
	return e.AppendBinary(make([]byte, 0, size))
}

// AppendBinary appends the encoding of [Entry.MarshalBinary] to b
// (encoding.BinaryAppender), with the same errors.
func (e *Entry) AppendBinary(b []byte) ([]byte, error) {
	if e == nil {
		return nil, errors.New("exchange: MarshalBinary of a nil Entry")
	}
	t := e.Token
	if t == nil {
		return nil, errors.New("exchange: MarshalBinary of an Entry with no token")
	}
	var flags byte
	if t.ZeroLifetime() {
		flags |= flagZeroLifetime
	}
	b = append(b, entryVersion, flags)
	for _, f := range [...]struct {
		name string
		t    time.Time
	}{{"Expires", e.Expires}, {"RefreshAt", e.RefreshAt}, {"Token.Expiry", t.Expiry}} {
		sec := f.t.Unix()
		if sec < minUnix || sec > maxUnix {
			return nil, fmt.Errorf("exchange: MarshalBinary: %s is outside years 1 to 9999", f.name)
		}
		b = binary.BigEndian.AppendUint64(b, uint64(sec))
		b = binary.BigEndian.AppendUint32(b, uint32(f.t.Nanosecond()))
	}
	for _, f := range [...]struct{ name, s string }{
		{"AccessToken", t.AccessToken}, {"TokenType", t.TokenType}, {"IssuedTokenType", t.IssuedTokenType},
		{"RefreshToken", t.RefreshToken}, {"Scope", t.Scope},
	} {
		if uint64(len(f.s)) > math.MaxUint32 {
			return nil, fmt.Errorf("exchange: MarshalBinary: Token.%s is too long", f.name)
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(f.s)))
		b = append(b, f.s...)
	}
	return b, nil
}

// UnmarshalBinary sets e to the Entry that data, written by
// [Entry.MarshalBinary], encodes, with a new Token. It does not keep data.
// Bytes that are not such an encoding are refused with an error wrapping
// [ErrMalformedEntry], and e is left unchanged.
func (e *Entry) UnmarshalBinary(data []byte) error {
	if len(data) == 0 {
		return fmt.Errorf("%w: empty", ErrMalformedEntry)
	}
	if data[0] != entryVersion {
		return fmt.Errorf("%w: unknown version %d", ErrMalformedEntry, data[0])
	}
	if len(data) < entryHeader {
		return fmt.Errorf("%w: truncated", ErrMalformedEntry)
	}
	flags := data[1]
	if flags&^flagZeroLifetime != 0 {
		return fmt.Errorf("%w: unknown flags %#x", ErrMalformedEntry, flags)
	}
	var times [3]time.Time
	for i := range times {
		p := data[2+i*timeSize:]
		sec, nsec := int64(binary.BigEndian.Uint64(p)), binary.BigEndian.Uint32(p[8:])
		if sec < minUnix || sec > maxUnix {
			return fmt.Errorf("%w: time out of range", ErrMalformedEntry)
		}
		if nsec >= 1e9 {
			return fmt.Errorf("%w: nanoseconds of a second or more", ErrMalformedEntry)
		}
		times[i] = time.Unix(sec, int64(nsec)).UTC()
	}
	// One string for the five fields: one allocation, shared by them.
	rest := data[entryHeader:]
	all := string(rest)
	var fields [5]string
	off := 0
	for i := range fields {
		if len(all)-off < 4 {
			return fmt.Errorf("%w: truncated", ErrMalformedEntry)
		}
		n := uint64(binary.BigEndian.Uint32(rest[off:]))
		off += 4
		if uint64(len(all)-off) < n {
			return fmt.Errorf("%w: truncated", ErrMalformedEntry)
		}
		fields[i] = all[off : off+int(n)]
		off += int(n)
	}
	if off != len(all) {
		return fmt.Errorf("%w: trailing bytes", ErrMalformedEntry)
	}
	tok := &authority.Token{
		AccessToken:     fields[0],
		TokenType:       fields[1],
		IssuedTokenType: fields[2],
		RefreshToken:    fields[3],
		Expiry:          times[2],
		Scope:           fields[4],
	}
	tok.SetZeroLifetime(flags&flagZeroLifetime != 0)
	*e = Entry{Token: tok, Expires: times[0], RefreshAt: times[1]}
	return nil
}
