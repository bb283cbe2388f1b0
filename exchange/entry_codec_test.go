package exchange_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
)

// zeroLifetime returns tok marked as issued with no lifetime.
func zeroLifetime(tok authority.Token) *authority.Token {
	tok.SetZeroLifetime(true)
	return &tok
}

// requireSameEntry checks that got holds exactly what want holds: every
// string, the zero-lifetime marker, and every time as the same instant,
// read back in UTC.
func requireSameEntry(t testing.TB, want, got *exchange.Entry) {
	t.Helper()
	require.NotNil(t, got.Token)
	w, g := *want.Token, *got.Token
	assert.Equal(t, w.AccessToken, g.AccessToken, "AccessToken")
	assert.Equal(t, w.TokenType, g.TokenType, "TokenType")
	assert.Equal(t, w.IssuedTokenType, g.IssuedTokenType, "IssuedTokenType")
	assert.Equal(t, w.RefreshToken, g.RefreshToken, "RefreshToken")
	assert.Equal(t, w.Scope, g.Scope, "Scope")
	assert.Equal(t, w.ZeroLifetime(), g.ZeroLifetime(), "ZeroLifetime")
	for _, tc := range []struct {
		name      string
		want, got time.Time
	}{
		{"Token.Expiry", w.Expiry, g.Expiry},
		{"Expires", want.Expires, got.Expires},
		{"RefreshAt", want.RefreshAt, got.RefreshAt},
	} {
		assert.True(t, tc.want.Equal(tc.got), "%s: want %v, got %v", tc.name, tc.want, tc.got)
		assert.Equal(t, time.UTC, tc.got.Location(), "%s is read back in UTC", tc.name)
		assert.Equal(t, tc.want.IsZero(), tc.got.IsZero(), "%s zero", tc.name)
	}
}

func TestEntryBinaryRoundTrip(t *testing.T) {
	expiry := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC)
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		e    *exchange.Entry
	}{
		{"every field", &exchange.Entry{
			Token: &authority.Token{
				AccessToken: "eyJ.access.sig", TokenType: "Bearer", IssuedTokenType: authority.TokenTypeAccessToken,
				RefreshToken: "refresh-secret", Expiry: expiry, Scope: "read write",
			},
			Expires:   expiry.Add(-30 * time.Second),
			RefreshAt: expiry.Add(-10 * time.Minute),
		}},
		{"no refresh: zero RefreshAt", &exchange.Entry{
			Token:   &authority.Token{AccessToken: "a", TokenType: "Bearer", Expiry: expiry},
			Expires: expiry,
		}},
		{"zero-lifetime token", &exchange.Entry{
			Token:   zeroLifetime(authority.Token{AccessToken: "a", TokenType: "N_A", Expiry: expiry}),
			Expires: expiry,
		}},
		{"empty strings and zero times", &exchange.Entry{Token: &authority.Token{}}},
		{"times in another zone, with a monotonic reading", &exchange.Entry{
			Token:   &authority.Token{AccessToken: "a", Expiry: expiry.In(paris)},
			Expires: time.Now(),
		}},
		{"binary and long strings", &exchange.Entry{
			Token:   &authority.Token{AccessToken: strings.Repeat("x", 70_000), Scope: "\x00\xff é", TokenType: "\n"},
			Expires: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		}},
		{"first instant", &exchange.Entry{
			Token:     &authority.Token{AccessToken: "a"},
			RefreshAt: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := tc.e.MarshalBinary()
			require.NoError(t, err)
			assert.Equal(t, byte(1), data[0], "version")
			got := new(exchange.Entry)
			require.NoError(t, got.UnmarshalBinary(data))
			requireSameEntry(t, tc.e, got)
			again, err := got.MarshalBinary()
			require.NoError(t, err)
			assert.Equal(t, data, again, "the encoding is canonical")
			appended, err := tc.e.AppendBinary([]byte("prefix"))
			require.NoError(t, err)
			assert.Equal(t, append([]byte("prefix"), data...), appended)
		})
	}
}

// TestEntryBinaryFormat builds the documented layout by hand, so that the
// doc comment of MarshalBinary stays true.
func TestEntryBinaryFormat(t *testing.T) {
	expires := time.Unix(1_900_000_000, 5).UTC()
	refresh := time.Unix(1_899_999_000, 0).UTC()
	expiry := time.Unix(1_900_000_030, 999_999_999).UTC()
	e := &exchange.Entry{
		Token:     zeroLifetime(authority.Token{AccessToken: "at", TokenType: "Bearer", IssuedTokenType: "it", RefreshToken: "rt", Expiry: expiry, Scope: "s"}),
		Expires:   expires,
		RefreshAt: refresh,
	}
	want := []byte{1, 1} // version, flags: zero lifetime
	for _, tm := range []time.Time{expires, refresh, expiry} {
		want = binary.BigEndian.AppendUint64(want, uint64(tm.Unix()))
		want = binary.BigEndian.AppendUint32(want, uint32(tm.Nanosecond()))
	}
	for _, s := range []string{"at", "Bearer", "it", "rt", "s"} {
		want = binary.BigEndian.AppendUint32(want, uint32(len(s)))
		want = append(want, s...)
	}
	got, err := e.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

func TestEntryUnmarshalBinaryRefuses(t *testing.T) {
	valid, err := (&exchange.Entry{
		Token:   &authority.Token{AccessToken: "at", TokenType: "Bearer", Expiry: t0},
		Expires: t0,
	}).MarshalBinary()
	require.NoError(t, err)
	// Offsets of the layout: version, flags, then three 12-byte times,
	// then five length-prefixed strings.
	const times = 2
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(valid)) }
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"unknown version", edit(func(b []byte) []byte { b[0] = 2; return b }), "version 2"},
		{"version zero", edit(func(b []byte) []byte { b[0] = 0; return b }), "version 0"},
		{"unknown flag", edit(func(b []byte) []byte { b[1] = 2; return b }), "flags"},
		{"truncated in a time", valid[:times+5], "truncated"},
		{"truncated in a length", valid[:times+36+2], "truncated"},
		{"truncated in a string", valid[:len(valid)-1], "truncated"},
		{"trailing bytes", append(bytes.Clone(valid), 0), "trailing"},
		{"nanoseconds of a second or more", edit(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[times+8:], 1_000_000_000)
			return b
		}), "nanoseconds"},
		{"before year 1", edit(func(b []byte) []byte {
			binary.BigEndian.PutUint64(b[times:], uint64(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()-1))
			return b
		}), "range"},
		{"after year 9999", edit(func(b []byte) []byte {
			binary.BigEndian.PutUint64(b[times:], uint64(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()))
			return b
		}), "range"},
		{"length beyond the data", edit(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[times+36:], 0xffffffff)
			return b
		}), "truncated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &exchange.Entry{Expires: t0}
			err := e.UnmarshalBinary(tc.data)
			require.ErrorIs(t, err, exchange.ErrMalformedEntry)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, &exchange.Entry{Expires: t0}, e, "a refused encoding leaves the Entry as it was")
		})
	}
}

func TestEntryMarshalBinaryRefuses(t *testing.T) {
	tests := []struct {
		name string
		e    *exchange.Entry
		want string
	}{
		{"nil entry", nil, "nil"},
		{"no token", &exchange.Entry{Expires: t0}, "no token"},
		{"after year 9999", &exchange.Entry{Token: &authority.Token{AccessToken: "a"}, Expires: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, "Expires"},
		{"before year 1", &exchange.Entry{Token: &authority.Token{AccessToken: "a", Expiry: time.Date(1, 1, 1, 0, 0, 0, 0, time.FixedZone("", 3600))}}, "Token.Expiry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.e.MarshalBinary()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), `"a"`)
		})
	}
}

// TestEntryJSONRedacts: the JSON of an Entry is for logs; it never holds
// the tokens, so a JSON round trip loses them (use MarshalBinary to store).
func TestEntryJSONRedacts(t *testing.T) {
	e := &exchange.Entry{
		Token:   &authority.Token{AccessToken: "access-secret", RefreshToken: "refresh-secret", TokenType: "Bearer", Expiry: t0},
		Expires: t0,
	}
	data, err := json.Marshal(e)
	require.NoError(t, err)
	assert.NotContains(t, string(data), "access-secret")
	assert.NotContains(t, string(data), "refresh-secret")
	assert.Contains(t, string(data), "[redacted]")
}

// FuzzEntryBinaryRoundTrip: decode(encode(e)) holds exactly what e holds,
// for any Entry whose times are within years 1 to 9999.
func FuzzEntryBinaryRoundTrip(f *testing.F) {
	f.Add("eyJ.a.b", "Bearer", authority.TokenTypeAccessToken, "", "read", int64(1_900_000_000), int64(1_899_999_000), int64(0), uint32(5), false)
	f.Add("", "", "", "", "", int64(-62135596800), int64(253402300799), int64(-1), uint32(999_999_999), true)
	f.Fuzz(func(t *testing.T, access, typ, issued, refresh, scope string, expires, refreshAt, expiry int64, nsec uint32, zero bool) {
		tm := func(sec int64) time.Time { return time.Unix(sec, int64(nsec%1_000_000_000)) }
		tok := authority.Token{AccessToken: access, TokenType: typ, IssuedTokenType: issued, RefreshToken: refresh, Scope: scope, Expiry: tm(expiry)}
		tok.SetZeroLifetime(zero)
		e := &exchange.Entry{Token: &tok, Expires: tm(expires), RefreshAt: tm(refreshAt)}
		data, err := e.MarshalBinary()
		if err != nil {
			inRange := func(x time.Time) bool { y := x.UTC().Year(); return y >= 1 && y <= 9999 }
			if inRange(e.Expires) && inRange(e.RefreshAt) && inRange(tok.Expiry) {
				t.Fatalf("MarshalBinary of an entry within range: %v", err)
			}
			return
		}
		got := new(exchange.Entry)
		if err := got.UnmarshalBinary(data); err != nil {
			t.Fatalf("UnmarshalBinary of MarshalBinary's output: %v", err)
		}
		requireSameEntry(t, e, got)
	})
}

// FuzzEntryUnmarshalBinary: any bytes either decode into an entry that
// encodes back to the same bytes, or are refused with ErrMalformedEntry;
// nothing panics.
func FuzzEntryUnmarshalBinary(f *testing.F) {
	valid, err := (&exchange.Entry{
		Token:     &authority.Token{AccessToken: "at", TokenType: "Bearer", RefreshToken: "rt", Expiry: t0, Scope: "s"},
		Expires:   t0,
		RefreshAt: t0.Add(-time.Minute),
	}).MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add(valid[:len(valid)-3])
	f.Fuzz(func(t *testing.T, data []byte) {
		e := new(exchange.Entry)
		if err := e.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, exchange.ErrMalformedEntry) {
				t.Fatalf("error does not wrap ErrMalformedEntry: %v", err)
			}
			return
		}
		again, err := e.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary of a decoded entry: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("decoded and encoded again differs:\n%x\n%x", data, again)
		}
	})
}
