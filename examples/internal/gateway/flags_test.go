package gateway

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log/slog"
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
		"TX_JWKS_URL":    "https://kc.example/realms/r/certs",
		"TX_ROUTE":       "/api/a=http://h:1;scope=a.read a.write\n\n  /api/b=http://h:2;mode=passthrough  \n",
		"TX_WALKTHROUGH": "false",
		"TX_LOG_LEVEL":   "WARN",
	}
	cfg, err := ParseFlags("gw", nil, envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:0" || cfg.Walkthrough || len(cfg.Routes) != 2 || cfg.Routes[1].Service != "b" || cfg.LogLevel != slog.LevelWarn {
		t.Errorf("from the environment: %+v", cfg)
	}
	if got := cfg.Routes[0].Scopes; !slices.Equal(got, []string{"a.read", "a.write"}) {
		t.Errorf("TX_ROUTE is split on lines, not spaces: scopes %q", got)
	}
	// A flag wins over its variable; -route replaces TX_ROUTE's routes.
	cfg, err = ParseFlags("gw", []string{"-client-id", "other", "-route", "/api/c=http://h:3"}, envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClientID != "other" || len(cfg.Routes) != 1 || cfg.Routes[0].Service != "c" {
		t.Errorf("flags over environment: %+v", cfg)
	}
	cfg, err = ParseFlags("gw", []string{"-log-level", "debug"}, envOf(env))
	if err != nil || cfg.LogLevel != slog.LevelDebug {
		t.Errorf("-log-level debug: %v, %v", cfg.LogLevel, err)
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
		{args: []string{"-route", "/api/o=ftp://h"}, want: "-route: route /api/o: downstream URL: scheme"},
		{args: []string{"-listen", "127.0.0.1:99999"}, want: "-listen: \"127.0.0.1:99999\": the port must be a number from 0 to 65535"},
		{args: []string{"-listen", "8080"}, want: "is not host:port"},
		{env: map[string]string{"TX_LISTEN": "127.0.0.1:http"}, want: "the port must be a number"},
		{args: append(append([]string{"-auth-method", "bogus"}, real...), route...), want: `-auth-method: "bogus": want client_secret_basic, client_secret_post, private_key_jwt or none`},
		{args: append(append([]string{"-auth-method", "private_key_jwt"}, real...), route...), want: "-auth-method private_key_jwt needs -client-key"},
		{args: []string{"-log-level", "verbose"}, want: `log level "verbose": want debug, info, warn or error`},
		{args: []string{"-insecure-skip-validation"}, want: "the embedded demo always validates"},
		{args: append(append([]string{"-insecure-skip-validation", "-issuer", "http://as", "-jwks-url", "http://as/jwks"}, real...), route...), want: "contradict"},
		{args: append(real, "-route", "/api/own=http://h;mode=client"), want: "-route /api/own: mode client needs -jwks-url"},
		{args: append(real, "-route", "/api/p=http://h;mode=passthrough"), want: "mode passthrough needs -jwks-url"},
		{args: append(real, "-route", "/api/n=http://h;mode=none"), want: "mode none needs -jwks-url"},
		{args: []string{"-subject-token-type", "saml"}, want: "want access_token, jwt, id_token or a urn:"},
		{args: []string{"-audience", ","}, want: "empty list"},
		{args: []string{"-walkthrough=maybe"}, want: "invalid boolean value"},
		{env: map[string]string{"TX_WALKTHROUGH": "maybe"}, want: `TX_WALKTHROUGH="maybe": `},
		{env: map[string]string{"TX_ROUTE": "/api/o=ftp://h"}, want: "TX_ROUTE: route /api/o: downstream"},
		{env: map[string]string{"TX_ROUTE": "/api/o=http://h;scope=a\n/api/p=ftp://h"}, want: "TX_ROUTE: route /api/p: downstream"},
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
	for _, args := range [][]string{
		{"-listen", "127.0.0.1:99999"},
		{"-token-url", "http://as/token", "-client-id", "gw", "-route", "/api/o=http://h", "-auth-method", "bogus"},
		{"-token-url", "http://as/token", "-client-id", "gw", "-route", "/api/o=http://h", "-auth-method", "private_key_jwt"},
		{"-token-url", "http://as/token", "-client-id", "gw", "-route", "/api/o=http://h;mode=client"},
		{"-log-level", "loud"},
	} {
		stderr.Reset()
		if code := Main(context.Background(), "gw", args, envOf(nil), &stdout, &stderr, nil); code != 2 || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q; want 2 and one line", args, code, stderr.String())
		}
	}
	stderr.Reset()
	if code := Main(context.Background(), "gw", []string{"-help"}, envOf(nil), &stdout, &stderr, nil); code != 0 {
		t.Errorf("-help: exit %d, want 0", code)
	}
	for _, want := range []string{"TX_CLIENT_SECRET", "/api/NAME", "one route per line", "[TX_INSECURE_SKIP_VALIDATION]", "[TX_LOG_LEVEL]"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("-help lacks %q", want)
		}
	}
	stderr.Reset()
	args := []string{"-listen", "256.0.0.1:0", "-walkthrough=false"}
	if code := Main(context.Background(), "gw", args, envOf(nil), &stdout, &stderr, nil); code != 1 {
		t.Errorf("unusable listen address: exit %d, want 1 (stderr %q)", code, stderr.String())
	}
}

func TestParseFlagsInsecureSkipValidation(t *testing.T) {
	args := []string{"-token-url", "http://as/token", "-client-id", "gw", "-route", "/api/own=http://h;mode=client"}
	cfg, err := ParseFlags("gw", append(args, "-insecure-skip-validation"), envOf(nil))
	if err != nil || !cfg.InsecureSkipValidation {
		t.Fatalf("-insecure-skip-validation: %v", err)
	}
	if _, err := ParseFlags("gw", args, envOf(map[string]string{"TX_INSECURE_SKIP_VALIDATION": "true"})); err != nil {
		t.Errorf("TX_INSECURE_SKIP_VALIDATION: %v", err)
	}
	// Exchange routes run unvalidated without it: the authority checks
	// the subject token.
	if _, err := ParseFlags("gw", []string{"-token-url", "http://as/token", "-client-id", "gw", "-route", "/api/o=http://h"}, envOf(nil)); err != nil {
		t.Errorf("exchange route without -jwks-url: %v", err)
	}
}

// TestRouteErrorsHideSecrets checks that a bad route is named by its
// prefix only, on the command line and in TX_ROUTE, through Main's stderr.
func TestRouteErrorsHideSecrets(t *testing.T) {
	for _, bad := range []string{
		"/api/orders=http://u:secretpw@h",
		"/api/orders=ftp://u:secretpw@h",
		"/api/orders=http://:secretpw@",
		"/api/orders=http://h?secretpw",
		"/api/orders=http://h;token=secretpw",
		"/api/orders=http://h;secretpw",
		"/api/orders=http://h;resource=secretpw",
		"/api/orders=http://h;actor=secretpw",
		"/api/orders=http://h;mode=secretpw",
		"/api/orders=http://h;secretpw=x",
		"/api/orders=http://h/%zzsecretpw",
	} {
		for _, tc := range []struct {
			args []string
			env  map[string]string
		}{
			{args: []string{"-token-url", "http://as/token", "-client-id", "gw", "-route", bad}},
			{args: []string{"-token-url", "http://as/token", "-client-id", "gw"}, env: map[string]string{"TX_ROUTE": bad}},
		} {
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), "gw", tc.args, envOf(tc.env), &stdout, &stderr, nil)
			if code != 2 || strings.Contains(stderr.String(), "secretpw") || !strings.Contains(stderr.String(), "/api/orders") {
				t.Errorf("route %q (env %v): exit %d, stderr %q; want 2 and the prefix only", bad, tc.env != nil, code, stderr.String())
			}
		}
	}
}

// TestListenForContainers checks that -listen has its environment form
// TX_LISTEN, and that the help says a container needs all interfaces.
func TestListenForContainers(t *testing.T) {
	cfg, err := ParseFlags("gw", nil, envOf(map[string]string{"TX_LISTEN": ":8080"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != ":8080" {
		t.Errorf("TX_LISTEN=:8080: Listen %q", cfg.Listen)
	}
	var help bytes.Buffer
	Usage(&help, "gw")
	for _, want := range []string{"-listen :8080", "[TX_LISTEN]", "loopback only", `(default "127.0.0.1:8080")`} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, help.String())
		}
	}
}
