package gateway

import (
	"errors"
	"flag"
	"fmt"
	"io"
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
// values are read first; TX_ROUTE holds routes separated by white space.
// It returns flag.ErrHelp for -h and -help, and otherwise an error of one
// line for anything it cannot use.
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
			// A route's error names its prefix, not what may be a secret.
			if err = rl.setEnv(v); err != nil {
				err = fmt.Errorf("%s: %v", EnvName(f.Name), err)
			}
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
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Usage writes the flags and their environment variables to w.
func Usage(w io.Writer, name string) {
	fs := newFlagSet(name, new(Config))
	fmt.Fprintf(w, "Usage: %s [flags]\n\nWith no -issuer or -token-url, an embedded authority and two demo services start.\nEvery flag can also be set as an environment variable (shown in brackets).\n\n", name)
	fs.VisitAll(func(f *flag.Flag) { f.Usage += " [" + EnvName(f.Name) + "]" })
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// newFlagSet defines the gateway's flags, storing into cfg. Its output is
// discarded: ParseFlags reports errors in one line.
func newFlagSet(name string, cfg *Config) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.Listen, "listen", DefaultListen, "`address` to serve on")
	fs.StringVar(&cfg.Issuer, "issuer", "", "authority issuer `URL` (discovery; the iss of inbound tokens)")
	fs.StringVar(&cfg.TokenURL, "token-url", "", "token endpoint `URL` (no discovery)")
	fs.StringVar(&cfg.ClientID, "client-id", "", "the gateway's client_id at the authority")
	fs.StringVar(&cfg.ClientSecret, "client-secret", "", "the gateway's client secret")
	fs.StringVar(&cfg.AuthMethod, "auth-method", "", "client authentication: client_secret_basic, client_secret_post or none (default by the authority package)")
	fs.StringVar(&cfg.JWKSURL, "jwks-url", "", "JWK Set `URL`; turns inbound token validation on (needs -issuer)")
	fs.Var((*listValue)(&cfg.Audiences), "audience", "expected inbound aud, comma-separated `list` (default the client id)")
	fs.Var((*tokenType)(&cfg.SubjectTokenType), "subject-token-type", "`type` of inbound tokens: access_token (Keycloak's only choice), jwt, id_token or a URN")
	fs.Var(&routeList{routes: &cfg.Routes}, "route", "`route` PREFIX=URL[;audience=A][;scope=S][;resource=R][;mode=exchange|passthrough|client|none][;actor=true], repeatable")
	fs.BoolVar(&cfg.Walkthrough, "walkthrough", true, "embedded demo: walk through the flow once at start")
	return fs
}

// routeList is the repeatable -route flag. Routes from the environment
// are replaced, not extended, by the first -route on the command line.
type routeList struct {
	routes  *[]Route
	fromEnv bool
}

// String implements flag.Value.
func (l *routeList) String() string {
	if l == nil || l.routes == nil {
		return ""
	}
	s := make([]string, len(*l.routes))
	for i, r := range *l.routes {
		s[i] = r.String()
	}
	return strings.Join(s, " ")
}

// Set implements flag.Value: it parses and appends one route.
func (l *routeList) Set(v string) error {
	if l.fromEnv {
		*l.routes, l.fromEnv = nil, false
	}
	r, err := ParseRoute(v)
	if err != nil {
		return err
	}
	*l.routes = append(*l.routes, r)
	return nil
}

// setEnv reads routes separated by white space.
func (l *routeList) setEnv(v string) error {
	for _, s := range strings.Fields(v) {
		if err := l.Set(s); err != nil {
			return err
		}
	}
	l.fromEnv = true
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
