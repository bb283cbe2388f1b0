package authority

import (
	"context"
	"fmt"
	"testing"
)

func TestErrorCodeOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{context.DeadlineExceeded, ""},
		{&Error{Code: "invalid_grant"}, "invalid_grant"},
		{fmt.Errorf("wrapped: %w", &Error{Code: "invalid_target"}), "invalid_target"},
		{&Error{Code: "temporarily_unavailable"}, "temporarily_unavailable"},
		{&Error{Code: "eyJhbGciOi.secret-looking"}, "other"},
		{&Error{Code: "Invalid_Grant"}, "other"},
		{&Error{StatusCode: 502}, ""},
	} {
		if got := ErrorCodeOf(tc.err); got != tc.want {
			t.Errorf("ErrorCodeOf(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
