package middleware_test

import (
	"strings"
	"testing"

	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// FuzzLooksLikeJWT checks LooksLikeJWT, which reads network input, against
// a plain statement of its rule: three dot-separated segments, the first
// two non-empty, the first of the base64url alphabet and starting "eyJ".
// It must never panic.
func FuzzLooksLikeJWT(f *testing.F) {
	for _, s := range []string{
		"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln", "eyJ.e.", "eyJ..x", "opaque.abc", "eyJa.b.c.d.e", "", "eyJ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		parts := strings.Split(token, ".")
		want := len(parts) == 3 && parts[0] != "" && parts[1] != "" && strings.HasPrefix(parts[0], "eyJ") &&
			strings.Trim(parts[0], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == ""
		if got := middleware.LooksLikeJWT(token); got != want {
			t.Errorf("LooksLikeJWT(%q) = %v, want %v", token, got, want)
		}
	})
}
