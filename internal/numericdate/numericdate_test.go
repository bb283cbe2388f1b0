package numericdate

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestParse pins the rule; middleware and exchange run the same values
// through their own entry points (see their NumericDate tests).
func TestParse(t *testing.T) {
	tests := []struct {
		raw    string
		want   time.Time
		reason string // "" when valid
	}{
		{"1700000000", time.Unix(1700000000, 0), ""},
		{"1700000000.5", time.Unix(1700000000, 5e8), ""},
		{"1.7e9", time.Unix(1700000000, 0), ""},
		{"1.7E+9", time.Unix(1700000000, 0), ""},
		{"0", time.Unix(0, 0), ""},
		{" 1700000000 ", time.Unix(1700000000, 0), ""},
		{"9007199254740991", time.Unix(1<<53-1, 0), ""},
		{`"1700000000"`, time.Time{}, "a string"},
		{`"2030-01-02T03:04:05Z"`, time.Time{}, "a string"},
		{"true", time.Time{}, "a boolean"},
		{"false", time.Time{}, "a boolean"},
		{"null", time.Time{}, "null"},
		{`{"n":1}`, time.Time{}, "an object"},
		{"[1700000000]", time.Time{}, "an array"},
		{"-1", time.Time{}, "negative"},
		{"-1700000000", time.Time{}, "negative"},
		{"9007199254740992", time.Time{}, "too large"},
		{"1e300", time.Time{}, "too large"},
		{"1e400", time.Time{}, "not a finite number"},
		{"", time.Time{}, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := Parse("exp", json.RawMessage(tt.raw))
			if tt.reason == "" {
				if err != nil || !got.Equal(tt.want) {
					t.Fatalf("Parse(%s) = %v, %v; want %v", tt.raw, got, err, tt.want)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Reason != tt.reason || e.Claim != "exp" {
				t.Fatalf("Parse(%s) error = %v; want reason %q", tt.raw, err, tt.reason)
			}
			if !strings.Contains(err.Error(), `"exp"`) || !strings.Contains(err.Error(), "NumericDate") {
				t.Errorf("error %q does not name the claim and the rule", err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		payload string
		claim   string // the claim refused, "" when valid
	}{
		{`{"sub":"a"}`, ""},
		{`{"exp":1700000000,"nbf":1.7e9,"iat":1700000000.25}`, ""},
		{`{"exp":"1700000000"}`, "exp"},
		{`{"exp":1700000000,"nbf":"1700000000"}`, "nbf"},
		{`{"exp":1700000000,"iat":true}`, "iat"},
		{`{"exp":1700000000,"exp":"1700000000"}`, "exp"}, // the last duplicate counts, as in jwx
	}
	for _, tt := range tests {
		t.Run(tt.payload, func(t *testing.T) {
			err := Check([]byte(tt.payload))
			if tt.claim == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Claim != tt.claim {
				t.Fatalf("Check error = %v; want one for %q", err, tt.claim)
			}
		})
	}
	if err := Check([]byte(`[1]`)); err == nil {
		t.Error("Check accepted a payload that is not an object")
	}
}

func TestExp(t *testing.T) {
	exp, present, err := Exp([]byte(`{"sub":"a"}`))
	if present || err != nil || !exp.IsZero() {
		t.Errorf("absent exp: %v, %v, %v", exp, present, err)
	}
	exp, present, err = Exp([]byte(`{"exp":1700000000}`))
	if !present || err != nil || !exp.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("numeric exp: %v, %v, %v", exp, present, err)
	}
	_, present, err = Exp([]byte(`{"exp":"1700000000"}`))
	var e *Error
	if !present || !errors.As(err, &e) {
		t.Errorf("string exp: %v, %v", present, err)
	}
}
