package gateway

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseFlagsDefaults(t *testing.T) {
	cfg, err := ParseFlags("gw", nil, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Embedded() || !cfg.Walkthrough || cfg.Listen != DefaultListen {
		t.Errorf("defaults: %+v", cfg)
	}
}

func TestParseFlagsRealAuthority(t *testing.T) {
	cfg, err := ParseFlags("gw", []string{
		"-listen", "127.0.0.1:0", "-token-url", "https://kc.example/realms/r/protocol/openid-connect/token",
		"-issuer", "https://kc.example/realms/r", "-client-id", "gateway", "-client-secret", "s",
		"-jwks-url", "https://kc.example/realms/r/protocol/openid-connect/certs", "-audience", "gateway, account",
		"-subject-token-type", "jwt", "-auth-method", "client_secret_post",
		"-route", "/api/orders=http://127.0.0.1:9001;scope=orders.read",
		"-route", "/api/billing=http://127.0.0.1:9002;mode=client",
	}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Embedded() || cfg.ClientID != "gateway" || cfg.AuthMethod != "client_secret_post" ||
		!slices.Equal(cfg.Audiences, []string{"gateway", "account"}) || cfg.SubjectTokenType != authority.TokenTypeJWT ||
		len(cfg.Routes) != 2 || cfg.Routes[1].Mode != ModeClient {
		t.Errorf("got %+v", cfg)
	}
}

func TestParseFlagsEnvironment(t *testing.T) {
	env := map[string]string{
		"TX_LISTEN":      "127.0.0.1:0",
		"TX_ISSUER":      "https://kc.example/realms/r",
		"TX_CLIENT_ID":   "gateway",
		"TX_ROUTE":       "/api/a=http://h:1\n/api/b=http://h:2;mode=passthrough",
		"TX_WALKTHROUGH": "false",
	}
	cfg, err := ParseFlags("gw", nil, envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:0" || cfg.Walkthrough || len(cfg.Routes) != 2 || cfg.Routes[1].Service != "b" {
		t.Errorf("from the environment: %+v", cfg)
	}
	// A flag wins over its variable; -route replaces TX_ROUTE's routes.
	cfg, err = ParseFlags("gw", []string{"-client-id", "other", "-route", "/api/c=http://h:3"}, envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClientID != "other" || len(cfg.Routes) != 1 || cfg.Routes[0].Service != "c" {
		t.Errorf("flags over environment: %+v", cfg)
	}
}

func TestParseFlagsErrors(t *testing.T) {
	real := []string{"-token-url", "http://as/token", "-client-id", "gw"}
	route := []string{"-route", "/api/o=http://h"}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{args: []string{"-nope"}, want: "flag provided but not defined: -nope"},
		{args: []string{"extra"}, want: `unexpected argument "extra"`},
		{args: []string{"-route", "/api/o=http://h"}, want: "-route needs -issuer or -token-url"},
		{args: []string{"-client-id", "x"}, want: "need -issuer or -token-url"},
		{args: []string{"-jwks-url", "http://as/jwks"}, want: "need -issuer or -token-url"},
		{args: real, want: "at least one -route"},
		{args: []string{"-token-url", "http://as/token", "-route", "/api/o=http://h"}, want: "-client-id is required"},
		{args: append(append([]string{"-jwks-url", "http://as/jwks"}, real...), route...), want: "-jwks-url needs -issuer"},
		{args: append(append([]string{"-token-url", "as/token"}, real[2:]...), route...), want: "-token-url: \"as/token\" is not an absolute"},
		{args: append(real, "-route", "/api/o=http://h", "-route", "/api/o=http://g"), want: `service "o" given twice`},
		{args: []string{"-route", "/api/o=ftp://h"}, want: "invalid value"},
		{args: []string{"-subject-token-type", "saml"}, want: "want access_token, jwt, id_token or a urn:"},
		{args: []string{"-audience", ","}, want: "empty list"},
		{args: []string{"-walkthrough=maybe"}, want: "invalid boolean value"},
		{env: map[string]string{"TX_WALKTHROUGH": "maybe"}, want: `TX_WALKTHROUGH="maybe": `},
		{env: map[string]string{"TX_ROUTE": "/api/o=ftp://h"}, want: "TX_ROUTE: route /api/o: downstream"},
	} {
		_, err := ParseFlags("gw", tc.args, envOf(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseFlags(%q, %v) = %v, want one line with %q", tc.args, tc.env, err, tc.want)
		}
	}
	if _, err := ParseFlags("gw", []string{"-h"}, envOf(nil)); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

func TestMainExitCodes(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), "gw", []string{"-listen"}, envOf(nil), &stdout, &stderr, nil); code != 2 {
		t.Errorf("bad flag: exit %d, want 2", code)
	}
	if lines := strings.Count(stderr.String(), "\n"); lines != 1 || !strings.HasPrefix(stderr.String(), "gw: ") {
		t.Errorf("bad flag: stderr %q, want one line starting with the name", stderr.String())
	}
	stderr.Reset()
	if code := Main(context.Background(), "gw", []string{"-help"}, envOf(nil), &stdout, &stderr, nil); code != 0 {
		t.Errorf("-help: exit %d, want 0", code)
	}
	if !strings.Contains(stderr.String(), "[TX_TOKEN_URL]") {
		t.Errorf("-help: usage lacks the environment variables:\n%s", stderr.String())
	}
	stderr.Reset()
	args := []string{"-listen", "256.0.0.1:0", "-walkthrough=false"}
	if code := Main(context.Background(), "gw", args, envOf(nil), &stdout, &stderr, nil); code != 1 {
		t.Errorf("unusable listen address: exit %d, want 1 (stderr %q)", code, stderr.String())
	}
}
