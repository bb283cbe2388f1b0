package authority

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// ErrorCode is an OAuth 2.0 error code (RFC 6749 §5.2, RFC 8693 §2.2.2). The
// constants below match an [*Error] with the same code under [errors.Is]:
//
//	if errors.Is(err, authority.ErrInvalidGrant) { ... }
type ErrorCode string

// Error codes an authorization server answers with.
const (
	ErrInvalidRequest         ErrorCode = "invalid_request"
	ErrInvalidClient          ErrorCode = "invalid_client"
	ErrInvalidGrant           ErrorCode = "invalid_grant"
	ErrUnauthorizedClient     ErrorCode = "unauthorized_client"
	ErrUnsupportedGrantType   ErrorCode = "unsupported_grant_type"
	ErrInvalidScope           ErrorCode = "invalid_scope"
	ErrInvalidTarget          ErrorCode = "invalid_target"
	ErrAccessDenied           ErrorCode = "access_denied"
	ErrServerError            ErrorCode = "server_error"
	ErrTemporarilyUnavailable ErrorCode = "temporarily_unavailable"
	// ErrConsentRequired (OpenID Connect Core §3.1.2.6): Microsoft Entra
	// ID's answer to an On-Behalf-Of request for a scope nobody has
	// consented to.
	ErrConsentRequired ErrorCode = "consent_required"
	// ErrInteractionRequired (OpenID Connect Core §3.1.2.6): Microsoft
	// Entra ID's answer to an On-Behalf-Of request whose assertion does not
	// satisfy a Conditional Access policy; [Error.Claims] then holds the
	// claims challenge the caller must step up with.
	ErrInteractionRequired ErrorCode = "interaction_required"
)

// Error returns the code with the package prefix, so that an ErrorCode can
// stand as a sentinel error.
func (c ErrorCode) Error() string { return "authority: " + string(c) }

// Error is a refusal from the authorization server: an RFC 6749 §5.2 error
// response, a non-2xx reply without one (an HTML page, an empty body), or a
// 2xx reply that is not a usable token response. Network failures and
// timeouts are not *Error: they are returned wrapped with %w.
//
// Error never holds a token, a secret or a whole response body. Code,
// Description, URI and Excerpt are sanitized: every credential of the
// request is redacted in each form it was sent in (as is, form-encoded,
// JSON-escaped, the Authorization header and its base64 part), so is the
// value of every credential-bearing field (access_token, refresh_token,
// id_token, assertion, client_assertion, client_secret, subject_token,
// actor_token, password), control characters are removed and the length
// is capped.
type Error struct {
	// Grant is the grant_type of the request that failed.
	Grant string
	// StatusCode is the HTTP status of the reply.
	StatusCode int
	// Code is the OAuth error code ("error"); empty when the reply had none.
	Code string
	// Description is the server's "error_description", for the operator.
	Description string
	// URI is the server's "error_uri".
	URI string
	// RetryAfter is the server's Retry-After, when it sent one (429, 503).
	RetryAfter time.Duration
	// ContentType is the reply's Content-Type when it was not an OAuth error.
	ContentType string
	// Excerpt is a short sanitized start of a non-2xx text or JSON reply
	// that was not an OAuth error response, to help the operator
	// recognise a proxy's error page. A 2xx body, which may hold the
	// issued token, is never excerpted, nor is a body of another type.
	Excerpt string
	// Malformed is set when a 2xx reply could not be used as a token.
	Malformed bool

	// Claims is the claims challenge of a Microsoft Entra ID refusal
	// ("claims", most often with interaction_required): a JSON object
	// naming the claims a new token of the caller must carry. It is set
	// only when the server's value is a JSON object of at most 2 KiB
	// that holds no credential of the request, no string that looks like
	// a JWT and no credential-named member with a string value; it is
	// then re-encoded compactly (members sorted), else it is empty. It
	// is what a gateway passes to its caller, base64-encoded, in a
	// WWW-Authenticate "insufficient_claims" challenge.
	Claims string
	// AuthorizationURI is the authority's authorization_endpoint from its
	// discovery metadata (configuration, not the reply), set with Claims
	// when discovery named one: where the caller steps up.
	AuthorizationURI string
	// ErrorCodes are Microsoft Entra ID's "error_codes" (the AADSTS
	// numbers), at most 8, for the operator; Microsoft documents that
	// they change over time, so nothing should branch on them.
	ErrorCodes []int
	// TraceID and CorrelationID are Microsoft Entra ID's "trace_id" and
	// "correlation_id", sanitized, which Microsoft's support asks for.
	TraceID, CorrelationID string
}

// Error describes the refusal without any token or secret.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("authority: ")
	if e.Grant != "" {
		b.WriteString(grantName(e.Grant))
		b.WriteString(": ")
	}
	switch {
	case e.Malformed:
		fmt.Fprintf(&b, "malformed %s response (HTTP %d", e.replyKind(), e.StatusCode)
		if e.ContentType != "" {
			fmt.Fprintf(&b, ", %s", e.ContentType)
		}
		b.WriteString(")")
		if e.Description != "" {
			b.WriteString(": ")
			b.WriteString(e.Description)
		}
		if e.Excerpt != "" {
			fmt.Fprintf(&b, ": %q", e.Excerpt)
		}
		return b.String()
	case e.Code != "":
		b.WriteString(e.Code)
		if e.Description != "" {
			b.WriteString(": ")
			b.WriteString(e.Description)
		}
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	default:
		fmt.Fprintf(&b, "%s endpoint returned HTTP %d", e.replyKind(), e.StatusCode)
		if e.ContentType != "" {
			fmt.Fprintf(&b, " with %s", e.ContentType)
		}
		if e.Description != "" {
			b.WriteString(": ")
			b.WriteString(e.Description)
		}
		if e.Excerpt != "" {
			fmt.Fprintf(&b, ": %q", e.Excerpt)
		}
	}
	if e.Claims != "" {
		b.WriteString("; claims challenge")
	}
	if len(e.ErrorCodes) > 0 {
		b.WriteString("; error codes")
		for i, c := range e.ErrorCodes {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, " %d", c)
		}
	}
	if e.TraceID != "" {
		b.WriteString("; trace id ")
		b.WriteString(e.TraceID)
	}
	if e.CorrelationID != "" {
		b.WriteString("; correlation id ")
		b.WriteString(e.CorrelationID)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, "; retry after %s", e.RetryAfter)
	}
	return b.String()
}

// Is reports whether target is the [ErrorCode] of e.
func (e *Error) Is(target error) bool {
	c, ok := target.(ErrorCode)
	return ok && e.Code != "" && string(c) == e.Code
}

// Temporary reports whether the same request may succeed later: a 5xx, 408
// or 429 reply, or an OAuth server_error or temporarily_unavailable. Every
// other refusal (invalid_grant, invalid_client, invalid_target,
// invalid_scope, unauthorized_client, access_denied, invalid_request, other
// 4xx) is permanent, and so is a Malformed 2xx reply (HTML, an empty body,
// one over the size limit, JSON with a prefix, cut short or of the wrong
// shape, form data without the form media type, no access_token): a reply
// that arrived whole, as its framing says, is what the server answers every
// time, and asking again on every request would hammer it. A reply cut off
// in transit is not an *Error but a read error, which [IsTemporary]
// counts as temporary. A Malformed introspection reply ([GrantIntrospection])
// is temporary: an introspection is never cached as an error, and an
// HTML page where the answer should be is an outage in front of the
// endpoint.
func (e *Error) Temporary() bool {
	switch {
	case e.Malformed:
		return e.Grant == GrantIntrospection
	case e.StatusCode >= 500, e.StatusCode == http.StatusTooManyRequests, e.StatusCode == http.StatusRequestTimeout:
		return true
	case e.Code == string(ErrServerError), e.Code == string(ErrTemporarilyUnavailable):
		return true
	}
	return false
}

// IsTemporary reports whether err is worth retrying later: a temporary
// [*Error], a network failure, a reply cut off midway, a timeout, a
// [CachedSource] renewal whose token expired before its reply was read, or
// a discovery that failed for one of these reasons. A context cancelled by
// the caller is not temporary, nor is a TLS certificate the client does
// not trust: retrying will not change it.
func IsTemporary(err error) bool {
	if err == nil {
		return false
	}
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Temporary()
	}
	var de *discoveryError
	if errors.As(err, &de) {
		return de.temporary
	}
	switch {
	case errors.Is(err, context.Canceled), isCertificateError(err):
		return false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, errExpiredOnArrival):
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// IsPermanent reports whether err is a refusal by the authorization server
// that repeating the same request will not change (see [Error.Temporary]),
// or a discovery that failed for such a reason (no document, an issuer
// that does not match).
func IsPermanent(err error) bool {
	var ae *Error
	if errors.As(err, &ae) {
		return !ae.Temporary()
	}
	var de *discoveryError
	return errors.As(err, &de) && !de.temporary
}

// isCertificateError reports whether err is a TLS certificate the client
// does not accept.
func isCertificateError(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid)
}

func grantName(grant string) string {
	switch grant {
	case GrantTokenExchange:
		return "token exchange"
	case GrantClientCredentials:
		return "client credentials"
	case GrantPassword:
		return "password grant"
	case GrantRefreshToken:
		return "refresh"
	case GrantJWTBearer:
		return "on-behalf-of"
	}
	return grant
}
