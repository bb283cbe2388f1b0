package gateway

import (
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// EnvPrefix starts the environment variable of every flag: -token-url is
// also TX_TOKEN_URL. A flag on the command line wins over its variable.
const EnvPrefix = "TX_"

// EnvName returns the environment variable for a flag name.
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ParseFlags reads a Config from the command-line arguments (without the
// program name) and from the environment through getenv. Environment
// values are read first; TX_ROUTE holds one route per line (a route's
// scope value may hold spaces). It returns flag.ErrHelp for -h and -help,
// and otherwise an error of one line for anything it cannot use. An error
// about a route names its prefix only: the rest may hold a secret.
func ParseFlags(name string, args []string, getenv func(string) string) (Config, error) {
	var cfg Config
	fs := newFlagSet(name, &cfg)
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		v := getenv(EnvName(f.Name))
		if err != nil || v == "" {
			return
		}
		if rl, ok := f.Value.(*routeList); ok {
			rl.setEnv(v)
		} else if err = f.Value.Set(v); err != nil {
			err = fmt.Errorf("%s=%q: %v", EnvName(f.Name), v, err)
		}
	})
	if err != nil {
		return Config{}, err
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	rl := fs.Lookup("route").Value.(*routeList)
	if cfg.Routes, err = rl.parse(); err != nil {
		return Config{}, err
	}
	key, err := flagClientKey(fs, cfg.Embedded())
	if err != nil {
		return Config{}, err
	}
	cfg.ClientKey, cfg.ClientKeyID, cfg.ClientKeyAlgorithm = key.signer, key.kid, key.alg
	if cfg.RedisURL, cfg.CacheKeys, err = flagRedis(fs); err != nil {
		return Config{}, err
	}
	if cfg.ClientCert, err = flagClientCert(fs, cfg.Embedded()); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// flagClientKey reads the key that -client-key names, with the kid of
// -client-key-id; the zero clientKey when -client-key is not given. Its
// errors name the flag (or its variable) and the file, never the file's
// content. In embedded mode the file is not read.
func flagClientKey(fs *flag.FlagSet, embedded bool) (clientKey, error) {
	path := fs.Lookup("client-key").Value.String()
	kid := fs.Lookup("client-key-id").Value.String()
	switch {
	case path == "" && kid != "":
		return clientKey{}, errors.New("-client-key-id needs -client-key")
	case path == "":
		return clientKey{}, nil
	case embedded:
		return clientKey{}, errors.New("-client-key and -client-key-id need -issuer or -token-url")
	}
	key, err := loadClientKey(path, kid)
	if err != nil {
		return clientKey{}, fmt.Errorf("%s %s: %w", flagSource(fs, "client-key"), strconv.Quote(path), err)
	}
	return key, nil
}

// flagClientCert reads the certificate that -client-cert names; nil when
// it is not given. Its errors name the flag (or its variable) and the
// file. In embedded mode the file is not read.
func flagClientCert(fs *flag.FlagSet, embedded bool) (*x509.Certificate, error) {
	path := fs.Lookup("client-cert").Value.String()
	switch {
	case path == "":
		return nil, nil
	case embedded:
		return nil, errors.New("-client-cert needs -issuer or -token-url")
	}
	cert, err := loadClientCert(path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flagSource(fs, "client-cert"), strconv.Quote(path), err)
	}
	return cert, nil
}

// flagSource names where the value of flag name came from: the flag when
// it was given on the command line, else its environment variable.
func flagSource(fs *flag.FlagSet, name string) string {
	src := EnvName(name)
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			src = "-" + name
		}
	})
	return src
}

// Usage writes the flags and their environment variables to w.
func Usage(w io.Writer, name string) {
	fs := newFlagSet(name, new(Config))
	fmt.Fprintf(w, `Usage: %s [flags]

With no -issuer or -token-url, an embedded authority and two demo services start.
Every flag can also be set as an environment variable (shown in brackets);
a flag on the command line wins. Give the client secret as TX_CLIENT_SECRET
rather than -client-secret, which ps and the shell history show.
For a client that authenticates with a signed JWT (private_key_jwt, Keycloak's
"Signed JWT"), give its private key with -client-key instead of a secret.
TX_ROUTE holds one route per line.

Replicas share their exchanged tokens and refusal windows in Redis (or Valkey)
with -redis-url and -cache-key; give both as TX_REDIS_URL and TX_CACHE_KEY
rather than flags, which ps and the shell history show (the URL may hold a
password). A cache key is the standard base64 of 32 random bytes
(head -c 32 /dev/urandom | base64); give every replica the same list.

A route is PREFIX=URL[;option...]: PREFIX is /api/NAME, NAME one path segment
of letters, digits and -_.~; /api/NAME/rest goes to URL/api/NAME/rest (nothing
is stripped). Options: audience=A, scope=S (space-separated scopes allowed),
resource=R (each repeatable), mode=exchange|passthrough|client|none (default
exchange), actor=true (exchange only: the gateway's token as actor token).
Routes in mode passthrough, client or none need validation: -jwks-url, or
introspection (-introspection-url or -introspect), or both (or -insecure-skip-validation).
With -dialect entra-obo (Microsoft Entra ID On-Behalf-Of), an exchange route names
its API by scope=api://APP/.default and takes no audience, resource or actor.

`, name)
	fs.VisitAll(func(f *flag.Flag) { f.Usage += " [" + EnvName(f.Name) + "]" })
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// newFlagSet defines the gateway's flags, storing into cfg. Its output is
// discarded: ParseFlags reports errors in one line.
func newFlagSet(name string, cfg *Config) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.Listen, "listen", DefaultListen, "`address` to serve on; the default is loopback only: in a container use -listen :8080 (all interfaces)")
	fs.StringVar(&cfg.Issuer, "issuer", "", "authority issuer `URL` (discovery; the iss of inbound tokens)")
	fs.StringVar(&cfg.TokenURL, "token-url", "", "token endpoint `URL` (no discovery)")
	fs.StringVar(&cfg.ClientID, "client-id", "", "the gateway's client_id at the authority")
	fs.StringVar(&cfg.ClientSecret, "client-secret", "", "the gateway's client secret (prefer TX_CLIENT_SECRET: a flag shows in ps and shell history)")
	fs.String("client-key", "", "`file` holding the gateway's private key for private_key_jwt (Keycloak's \"Signed JWT\"): PEM (PKCS#8, PKCS#1 RSA or SEC1 EC) or a JWK in JSON; at most 64 KiB")
	fs.String("client-key-id", "", "the `kid` to put in the client assertion's header when the -client-key file has none")
	fs.String("client-cert", "", "PEM `file` holding the certificate registered for -client-key; its SHA-256 thumbprint goes in the client assertion's header as x5t#S256 (Entra ID requires it)")
	fs.StringVar(&cfg.AuthMethod, "auth-method", "", "client authentication `method`: client_secret_basic, client_secret_post, private_key_jwt (needs -client-key) or none (default: private_key_jwt with -client-key, else client_secret_basic with a secret, else none; discovery from -issuer may choose another method the authority lists)")
	fs.StringVar(&cfg.JWKSURL, "jwks-url", "", "JWK Set `URL`; turns inbound token validation on (needs -issuer)")
	fs.BoolVar(&cfg.InsecureSkipValidation, "insecure-skip-validation", false, "allow passthrough, client and none routes without validation (-jwks-url or introspection): any bearer string then reaches them (trials only)")
	fs.Var((*listValue)(&cfg.Audiences), "audience", "expected inbound aud, comma-separated `list` (default the client id)")
	fs.Var((*dialectValue)(&cfg.Dialect), "dialect", "`protocol` of every exchange route: rfc8693 (OAuth 2.0 Token Exchange) or entra-obo (Microsoft Entra ID On-Behalf-Of: each exchange route needs scope=api://APP/.default and takes no audience, resource or actor); default rfc8693")
	fs.Var((*tokenType)(&cfg.SubjectTokenType), "subject-token-type", "`type` of inbound tokens: access_token (Keycloak's only choice), jwt, id_token or a URN")
	fs.Var(new(routeList), "route", "`route` /api/NAME=URL[;audience=A][;scope=S][;resource=R][;mode=exchange|passthrough|client|none][;actor=true], repeatable; NAME is one path segment of letters, digits and -_.~")
	fs.BoolVar(&cfg.Walkthrough, "walkthrough", true, "embedded demo: walk through the flow once at start")
	fs.Var((*logLevel)(&cfg.LogLevel), "log-level", "`level` of the logs: debug (shows inbound refusals), info, warn or error (default info)")
	fs.Var(new(secretValue), "redis-url", "Redis (or Valkey) `URL` whose shared cache tier and refusal windows the replicas share: redis://[user:password@]host:port/db, rediss:// for TLS; needs -cache-key (prefer TX_REDIS_URL: a flag shows in ps and shell history)")
	fs.Var(new(secretValue), "cache-key", "`keys` encrypting the values in Redis: comma-separated, each the standard base64 of 32 bytes, the first for new values, any for reading (prefer TX_CACHE_KEY)")
	fs.DurationVar(&cfg.RedisTimeout, "redis-timeout", 0, "`duration` bounding each Redis call; a slower Redis counts as a miss (default 50ms)")
	defineLimitFlags(fs, cfg)
	defineResourceFlags(fs, cfg)
	defineIntrospectionFlags(fs, cfg)
	return fs
}

// routeList is the repeatable -route flag. It only collects the routes'
// text: ParseFlags parses them after the flags, so that an error names a
// route by its prefix, where the flag package would print the whole value,
// which may hold a secret. Routes from the environment are replaced, not
// extended, by the first -route on the command line.
type routeList struct {
	raw     []string
	fromEnv bool
}

// String implements flag.Value. It shows nothing: a route may hold a
// secret.
func (l *routeList) String() string { return "" }

// Set implements flag.Value: it appends one route, unparsed.
func (l *routeList) Set(v string) error {
	if l.fromEnv {
		l.raw, l.fromEnv = nil, false
	}
	l.raw = append(l.raw, v)
	return nil
}

// setEnv takes the routes of TX_ROUTE, one per line; blank lines are
// skipped.
func (l *routeList) setEnv(v string) {
	for _, s := range strings.Split(v, "\n") {
		if s = strings.TrimSpace(s); s != "" {
			l.raw = append(l.raw, s)
		}
	}
	l.fromEnv = true
}

// parse parses the collected routes. Its errors name the source (the flag
// or the variable) and the route's prefix, never the rest of the route.
func (l *routeList) parse() ([]Route, error) {
	src := "-route"
	if l.fromEnv {
		src = EnvName("route")
	}
	routes := make([]Route, 0, len(l.raw))
	for _, s := range l.raw {
		r, err := ParseRoute(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		routes = append(routes, r)
	}
	if len(routes) == 0 {
		return nil, nil
	}
	return routes, nil
}

// logLevel is the -log-level flag.
type logLevel slog.Level

// String implements flag.Value.
func (l *logLevel) String() string { return strings.ToLower(slog.Level(*l).String()) }

// Set implements flag.Value: debug, info, warn or error, in any case.
func (l *logLevel) Set(v string) error {
	switch strings.ToLower(v) {
	case "debug":
		*l = logLevel(slog.LevelDebug)
	case "info":
		*l = logLevel(slog.LevelInfo)
	case "warn":
		*l = logLevel(slog.LevelWarn)
	case "error":
		*l = logLevel(slog.LevelError)
	default:
		return fmt.Errorf("log level %s: want debug, info, warn or error", strconv.Quote(v))
	}
	return nil
}

// listValue is a comma-separated list flag; each use replaces the list.
type listValue []string

// String implements flag.Value.
func (l *listValue) String() string { return strings.Join(*l, ",") }

// Set implements flag.Value.
func (l *listValue) Set(v string) error {
	*l = nil
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	if len(*l) == 0 {
		return errors.New("empty list")
	}
	return nil
}

// tokenType is a token type URN, also accepted by its short name.
type tokenType string

// String implements flag.Value.
func (t *tokenType) String() string { return string(*t) }

// Set implements flag.Value.
func (t *tokenType) Set(v string) error {
	switch v {
	case "access_token":
		v = authority.TokenTypeAccessToken
	case "jwt":
		v = authority.TokenTypeJWT
	case "id_token":
		v = authority.TokenTypeIDToken
	}
	if !strings.HasPrefix(v, "urn:") {
		return fmt.Errorf("token type %s: want access_token, jwt, id_token or a urn:", strconv.Quote(v))
	}
	*t = tokenType(v)
	return nil
}
