package middleware

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		name    string
		values  []string
		want    string
		wantErr error
	}{
		{"good", []string{"Bearer abc.DEF-_~+/"}, "abc.DEF-_~+/", nil},
		{"padding", []string{"Bearer YWJj=="}, "YWJj==", nil},
		{"lowercase scheme", []string{"bearer abc"}, "abc", nil},
		{"mixed case scheme", []string{"BeArEr abc"}, "abc", nil},
		{"extra spaces between", []string{"Bearer    abc"}, "abc", nil},
		{"missing", nil, "", ErrMissingToken},
		{"empty", []string{""}, "", ErrMalformedHeader},
		{"two headers", []string{"Bearer a", "Bearer b"}, "", ErrMultipleHeaders},
		{"basic", []string{"Basic dXNlcjpwYXNz"}, "", ErrUnsupportedScheme},
		{"scheme only", []string{"Bearer"}, "", ErrMalformedHeader},
		{"scheme and space", []string{"Bearer "}, "", ErrMalformedHeader},
		{"leading space", []string{" Bearer abc"}, "", ErrMalformedHeader},
		{"trailing space", []string{"Bearer abc "}, "", ErrMalformedHeader},
		{"tab separator", []string{"Bearer\tabc"}, "", ErrMalformedHeader},
		{"two tokens", []string{"Bearer abc def"}, "", ErrMalformedHeader},
		{"comma", []string{"Bearer abc,def"}, "", ErrMalformedHeader},
		{"padding inside", []string{"Bearer ab=c"}, "", ErrMalformedHeader},
		{"only padding", []string{"Bearer ==="}, "", ErrMalformedHeader},
		{"quote", []string{`Bearer "abc"`}, "", ErrMalformedHeader},
		{"non-ASCII", []string{"Bearer abc\u00e9"}, "", ErrMalformedHeader},
		{"control char", []string{"Bearer abc\x00"}, "", ErrMalformedHeader},
		{"prefix scheme", []string{"Bearerx abc"}, "", ErrUnsupportedScheme},
		{"oversize", []string{"Bearer " + strings.Repeat("a", 65)}, "", ErrTokenTooLarge},
		{"at size limit", []string{"Bearer " + strings.Repeat("a", 64)}, strings.Repeat("a", 64), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAuthorization(tt.values, 64)
			if tt.wantErr != nil {
				if err == nil || !errors.Is(err, tt.wantErr) {
					t.Fatalf("parseAuthorization(%q) error = %v, want %v", tt.values, err, tt.wantErr)
				}
				if got != "" {
					t.Errorf("token = %q on error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseAuthorization(%q) error = %v", tt.values, err)
			}
			if got != tt.want {
				t.Errorf("token = %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzParseAuthorization checks that the parser never panics, accepts only
// token68 tokens within the limit that end the header, and never puts header
// bytes into its errors.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  a.b.c", "Basic x", "", "Bearer", "Bearer ab==", "Bearer a b"} {
		f.Add(s)
	}
	const limit = 256
	f.Fuzz(func(t *testing.T, header string) {
		if got, want := isToken68(header), isToken68Spec(header); got != want {
			t.Fatalf("isToken68(%q) = %v, the grammar says %v", header, got, want)
		}
		tok, err := parseAuthorization([]string{header}, limit)
		if err != nil {
			if tok != "" {
				t.Fatalf("token %q returned with error", tok)
			}
			if err.Status != 400 && err.Status != 401 {
				t.Fatalf("status %d", err.Status)
			}
			if len(header) > 8 && strings.Contains(err.Error(), header) {
				t.Fatalf("error %q echoes the header", err)
			}
			return
		}
		if tok == "" || len(tok) > limit || !isToken68Spec(tok) || !strings.HasSuffix(header, tok) {
			t.Fatalf("parseAuthorization(%q) = %q: not a valid token of the header", header, tok)
		}
		if !equalFoldASCII(strings.TrimRight(header[:len(header)-len(tok)], " "), "bearer") {
			t.Fatalf("parseAuthorization(%q) accepted a non-Bearer scheme", header)
		}
		again, err := parseAuthorization([]string{"Bearer " + tok}, limit)
		if err != nil || again != tok {
			t.Fatalf("round trip of %q: %q, %v", tok, again, err)
		}
	})
}

// isToken68Spec is isToken68 as the grammar reads, the reference for the
// table: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isToken68Spec(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}

// TestToken68Table checks every byte of the table against the grammar,
// alone, before padding and after a token character, and at every
// position of the eight-byte blocks and the tail after them.
func TestToken68Table(t *testing.T) {
	for c := 0; c < 256; c++ {
		b := string([]byte{byte(c)})
		cases := []string{b, b + "==", "a" + b, b + "a", "a=" + b}
		for i := range 19 {
			prefix := strings.Repeat("x", i)
			cases = append(cases, prefix+b+"yz", prefix+b+strings.Repeat("y", 16), prefix+b, prefix+"="+b)
		}
		for _, s := range cases {
			if got, want := isToken68(s), isToken68Spec(s); got != want {
				t.Errorf("isToken68(%q) = %v, want %v", s, got, want)
			}
		}
	}
	for _, s := range []string{"", "=", "==", "a", "a=", "a==", "a=a", "abc.DEF-_~+/=="} {
		if got, want := isToken68(s), isToken68Spec(s); got != want {
			t.Errorf("isToken68(%q) = %v, want %v", s, got, want)
		}
	}
}

// BenchmarkIsToken68 checks a 1 KiB token.
func BenchmarkIsToken68(b *testing.B) {
	tok := strings.Repeat("eyJhbGciOiJSUzI1NiJ9.-_~+/", 40)[:1022] + "=="
	b.SetBytes(int64(len(tok)))
	for b.Loop() {
		if !isToken68(tok) {
			b.Fatal("refused")
		}
	}
}
