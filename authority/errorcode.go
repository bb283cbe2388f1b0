package authority

import "errors"

// ErrorCodeOf returns the OAuth error code of the [*Error] in err's chain
// when it is one of the codes this package names (the [ErrorCode]
// constants: RFC 6749 §5.2 and §4.1.2.1, RFC 8693 §2.2.2, and the
// OpenID Connect codes Microsoft Entra ID answers On-Behalf-Of with), "other" for an
// *Error with any other code, and "" when err holds no *Error (a network
// failure, a timeout, or no error) or an *Error without a code (such as a
// bare 503 or an HTML page).
//
// Its result comes from a closed set, so unlike [Error.Code], which is the
// server's text, it is safe as a metric attribute or a log field.
func ErrorCodeOf(err error) string {
	var e *Error
	if !errors.As(err, &e) || e.Code == "" {
		return ""
	}
	switch c := ErrorCode(e.Code); c {
	case ErrInvalidRequest, ErrInvalidClient, ErrInvalidGrant, ErrUnauthorizedClient,
		ErrUnsupportedGrantType, ErrInvalidScope, ErrInvalidTarget, ErrAccessDenied,
		ErrServerError, ErrTemporarilyUnavailable, ErrConsentRequired, ErrInteractionRequired:
		return string(c)
	}
	return "other"
}
