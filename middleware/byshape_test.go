package middleware_test

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

func TestLooksLikeJWT(t *testing.T) {
	for _, tc := range []struct {
		token string
		want  bool
	}{
		{"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln", true},
		{"eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.", true}, // unsigned: the JWT validator refuses it
		{"eyJ-_0.e.x", true},
		{"eyJ.e.x", true},
		{"", false},
		{"ey", false},
		{"eyJ", false},
		{"eyJhbGciOiJSUzI1NiJ9", false},
		{"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0", false},               // one dot
		{"eyJhbGciOiJSUzI1NiJ9..c2ln", false},                         // empty payload
		{"eyJa.b.c.d.e", false},                                       // JWE: five segments
		{"eyJhbGciOiJSUzI1NiJ9=.eyJzdWIiOiJhIn0.c2ln", false},         // padding in the header
		{"eyJhbGci/iJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln", false},          // standard base64 in the header
		{"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2/n+", true},          // the signature is the validator's to judge
		{"eyJhbGci OiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln", false},         // space in the header
		{"abc.def.ghi", false},                                        // not a JSON object header
		{"ory_at_AbCdEf.GhIjKl", false},                               // an opaque token with a dot
		{"2YotnFZFEjr1zCsicMWpAA", false},                             // RFC 6749's opaque example
		{"V1StGXR8_Z5jdHi6B-myT.dGhpcyBpcyBvcGFxdWU.c2lnbmF0", false}, // three segments, no eyJ
	} {
		assert.Equal(t, tc.want, middleware.LooksLikeJWT(tc.token), "%q", tc.token)
	}
}

// named is a Validator that accepts every token with its name as subject.
type named string

func (n named) Validate(context.Context, authority.SubjectToken) (*middleware.Claims, error) {
	return &middleware.Claims{Subject: string(n)}, nil
}

func TestByShape(t *testing.T) {
	const jwtShaped, opaque = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln", "2YotnFZFEjr1zCsicMWpAA"
	for _, tc := range []struct {
		name         string
		jwt, opaqueV middleware.Validator
		token        string
		status       int
		body         string
	}{
		{"jwt to jwt", named("jwt"), named("opaque"), jwtShaped, http.StatusOK, "jwt"},
		{"opaque to opaque", named("jwt"), named("opaque"), opaque, http.StatusOK, "opaque"},
		{"jwt without jwt side", nil, named("opaque"), jwtShaped, http.StatusUnauthorized, ""},
		{"opaque without opaque side", named("jwt"), nil, opaque, http.StatusUnauthorized, ""},
		{"jwt side refuses", staticValidator{}, named("opaque"), jwtShaped, http.StatusUnauthorized, ""},
		{"opaque side unavailable", named("jwt"), validatorFunc(func(context.Context, authority.SubjectToken) (*middleware.Claims, error) {
			return nil, middleware.ErrUnavailable
		}), opaque, http.StatusServiceUnavailable, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var refused error
			h := middleware.Bearer(middleware.Options{
				Validator: middleware.ByShape(tc.jwt, tc.opaqueV),
				OnRefusal: func(_ *http.Request, err error) { refused = err },
			})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, _ := middleware.ClaimsFromContext(r.Context())
				_, _ = w.Write([]byte(c.Subject))
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Authorization", "Bearer "+tc.token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, tc.status, rec.Code)
			assert.Equal(t, tc.body, rec.Body.String()[:min(len(tc.body), rec.Body.Len())])
			if tc.jwt == nil || tc.opaqueV == nil {
				require.ErrorIs(t, refused, middleware.ErrTokenShape)
				assert.Contains(t, rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`)
				assert.NotContains(t, refused.Error(), tc.token)
				assert.NotContains(t, rec.Body.String(), tc.token)
			}
		})
	}
	assert.PanicsWithValue(t, "middleware: ByShape needs at least one Validator", func() { middleware.ByShape(nil, nil) })
}

// BenchmarkByShape compares a Validator called directly (baseline) with
// the same Validator behind ByShape, for a JWT-shaped token of about a
// kilobyte, beside the SHA-256 of that token, which every request computes:
// ByShape adds the shape test and no allocation.
func BenchmarkByShape(b *testing.B) {
	payload := make([]byte, 1000)
	for i := range payload {
		payload[i] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"[i%64]
	}
	token := "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0." + string(payload) + ".c2lnbmF0dXJlc2lnbmF0dXJl"
	claims := &middleware.Claims{Subject: "alice"}
	var direct middleware.Validator = validatorFunc(func(context.Context, authority.SubjectToken) (*middleware.Claims, error) {
		return claims, nil
	})
	subject := authority.NewSubjectToken(token)
	ctx := context.Background()
	b.Run("sha256", func(b *testing.B) { // the reference: the per-request hash of the token
		raw := []byte(token)
		b.ReportAllocs()
		for b.Loop() {
			_ = sha256.Sum256(raw)
		}
	})
	for _, bc := range []struct {
		name string
		v    middleware.Validator
	}{
		{"direct", direct},
		{"byshape", middleware.ByShape(direct, named("opaque"))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if c, err := bc.v.Validate(ctx, subject); err != nil || c != claims {
					b.Fatal(c, err)
				}
			}
		})
	}
}
