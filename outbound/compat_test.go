package outbound_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/outbound"
)

// TestCompatibilityForms: characters that Unicode NFKC normalisation or
// Windows best-fit mapping turn into ".", "/", "\" or "%" (and the
// full-width forms of ASCII) are read as those too, raw or
// percent-encoded, once or twice: a path they move to another route is
// refused; one they leave on its route is sent.
func TestCompatibilityForms(t *testing.T) {
	base := &fakeBase{}
	opts := outbound.Options{Base: base}
	for u, name := range map[string]string{
		"https://compat.internal/":           "root",
		"https://compat.internal/api/public": "public",
		"https://compat.internal/api/admin":  "admin",
		"https://compat.internal/users":      "users",
	} {
		opts.Routes = append(opts.Routes, outbound.Route{URL: u, Mode: outbound.ModeOwnToken, Tokens: &staticTokens{name: name}})
	}
	tr := newTransport(t, opts)
	tests := []struct {
		path string
		want string // a route's token name, or ambiguous
	}{
		{"/api/public/%EF%BC%8E%EF%BC%8E/admin", ambiguous},             // U+FF0E FULLWIDTH FULL STOP twice
		{"/api/public/\uFF0E\uFF0E/admin", ambiguous},                   // the same, raw
		{"/api/public/%25EF%25BC%258E%25EF%25BC%258E/admin", ambiguous}, // encoded twice
		{"/api/public/%E2%80%A4%E2%80%A4/admin", ambiguous},             // U+2024 ONE DOT LEADER
		{"/api/public/%EF%B9%92%EF%B9%92/admin", ambiguous},             // U+FE52 SMALL FULL STOP
		{"/api/public/%E2%80%A5/admin", ambiguous},                      // U+2025 TWO DOT LEADER: ".."
		{"/api/public/%EF%B8%B0/admin", ambiguous},                      // U+FE30 VERTICAL TWO DOT LEADER
		{"/api/public/%E2%80%A6/admin", ambiguous},                      // U+2026 HORIZONTAL ELLIPSIS: "..."
		{"/api/public/..%EF%BC%8Fadmin", ambiguous},                     // U+FF0F FULLWIDTH SOLIDUS
		{"/api/public/..\uFF0Fadmin", ambiguous},                        // the same, raw
		{"/api/public/..%E2%88%95admin", ambiguous},                     // U+2215 DIVISION SLASH
		{"/api/public/..%E2%81%84admin", ambiguous},                     // U+2044 FRACTION SLASH
		{"/api/public/..%EF%BC%BCadmin", ambiguous},                     // U+FF3C FULLWIDTH REVERSE SOLIDUS
		{"/api/public/..%EF%B9%A8admin", ambiguous},                     // U+FE68 SMALL REVERSE SOLIDUS
		{"/api/public/..%E2%88%96admin", ambiguous},                     // U+2216 SET MINUS (best fit)
		{"/api/public/..%C2%A5admin", ambiguous},                        // U+00A5 YEN SIGN (code page 932)
		{"/api/public/..%E2%82%A9admin", ambiguous},                     // U+20A9 WON SIGN (code page 949)
		{"/api/public/..%EF%BC%852Fadmin", ambiguous},                   // U+FF05 FULLWIDTH PERCENT SIGN, then "2F"
		{"/api/public/..%EF%B9%AA2Fadmin", ambiguous},                   // U+FE6A SMALL PERCENT SIGN
		{"/%EF%BD%81%EF%BD%90%EF%BD%89/admin", ambiguous},               // full-width "api"
		{"/api/%EF%BC%A1dmin/x", ambiguous},                             // full-width "A"
		{"/%E2%84%80/x", "root"},                                        // U+2100 ACCOUNT OF: "a/c"
		{"/api/public/report%EF%BC%8Epdf", "public"},                    // "report．pdf" stays
		{"/api/public/1%EF%BC%8F2", "public"},                           // "1／2" stays
		{"/api/public/%E2%80%A6x", "public"},                            // "…x" is no parent
		{"/users/%C2%A5100", "users"},                                   // "¥100"
		{"/users/%E6%97%A5%E6%9C%AC", "users"},                          // 日本
		{"/users/caf%C3%A9", "users"},
		{"/%EF%BD%95sers/x", ambiguous}, // full-width "u": /users/x
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "https://compat.internal"+tt.path, nil)
			require.NoError(t, err)
			before := base.count()
			resp, err := tr.RoundTrip(req)
			if tt.want == ambiguous {
				require.ErrorIs(t, err, outbound.ErrAmbiguousPath)
				assert.Nil(t, resp)
				assert.Equal(t, before, base.count(), "not sent")
				return
			}
			require.NoError(t, err)
			_ = resp.Body.Close()
			auth := base.authorizations()
			assert.Equal(t, "Bearer "+tt.want+"-1", auth[len(auth)-1])
		})
	}
}
