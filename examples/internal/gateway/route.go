package gateway

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// apiPrefix is the path under which the gateways mount their routes.
const apiPrefix = "/api/"

// Route is one entry of the gateway's route table: requests for
// Prefix and below go to URL, keeping their whole path.
type Route struct {
	// Prefix is the gateway path, "/api/" + Service.
	Prefix string
	// Service is the last segment of Prefix, the {service} path value.
	Service string
	// URL is the downstream base URL: scheme, host and an optional path,
	// without a trailing slash, query or fragment.
	URL *url.URL
	// Mode selects the token; default ModeExchange.
	Mode Mode
	// Audiences, Scopes and Resources describe the token wanted from an
	// exchange (ModeExchange) or from the client credentials grant
	// (ModeClient). An exchange route without audience or resource gets
	// the audience Service.
	Audiences, Scopes, Resources []string
	// Actor sends the gateway's own token as the actor token of the
	// exchange, so that the issued token names the gateway in "act".
	Actor bool
	// defaultAudience is set when Audiences is the default, Service,
	// rather than the route's own: -dialect entra-obo ignores it.
	defaultAudience bool
}

// String returns the route in the syntax ParseRoute reads.
func (r Route) String() string {
	var b strings.Builder
	b.WriteString(r.Prefix)
	b.WriteByte('=')
	if r.URL != nil {
		b.WriteString(r.URL.String())
	}
	for _, kv := range []struct {
		k  string
		vs []string
	}{{"audience", r.Audiences}, {"scope", r.Scopes}, {"resource", r.Resources}} {
		for _, v := range kv.vs {
			fmt.Fprintf(&b, ";%s=%s", kv.k, v)
		}
	}
	if r.Mode != "" && r.Mode != ModeExchange {
		fmt.Fprintf(&b, ";mode=%s", r.Mode)
	}
	if r.Actor {
		b.WriteString(";actor=true")
	}
	return b.String()
}

// ParseRoute reads a route of the form
//
//	/api/SERVICE=URL[;audience=A][;scope=S][;resource=R][;mode=M][;actor=true]
//
// SERVICE is one path segment of letters, digits and -_.~ (not . or ..);
// a request for /api/SERVICE/rest goes to URL/api/SERVICE/rest. URL is an
// http or https URL without credentials, query or fragment. audience,
// scope and resource may repeat; a scope value may hold several
// space-separated scopes ("scope=a b" is "scope=a;scope=b"). M is exchange
// (the default), passthrough, client or none. actor=true (exchange mode
// only) sends the gateway's own token as the actor token.
//
// Errors name the route by its prefix, and never repeat what follows the
// "=", which may hold a secret.
func ParseRoute(s string) (Route, error) {
	prefix, rest, ok := strings.Cut(s, "=")
	if !ok {
		return Route{}, errors.New("route: want PREFIX=URL[;key=value...]")
	}
	// Errors name the route by its prefix only: the rest may hold a
	// secret the operator should not find in a log.
	r := Route{Prefix: strings.TrimSuffix(prefix, "/")}
	svc, err := serviceName(r.Prefix)
	if err != nil {
		return Route{}, fmt.Errorf("route: %w", err)
	}
	r.Service = svc
	parts := strings.Split(rest, ";")
	if r.URL, err = downstreamURL(parts[0]); err != nil {
		return Route{}, fmt.Errorf("route %s: %w", r.Prefix, err)
	}
	if err := r.setOptions(parts[1:]); err != nil {
		return Route{}, fmt.Errorf("route %s: %w", r.Prefix, err)
	}
	return r, nil
}

// serviceName checks that prefix is /api/NAME and returns NAME.
func serviceName(prefix string) (string, error) {
	name, ok := strings.CutPrefix(prefix, apiPrefix)
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", fmt.Errorf("prefix %q is not of the form %sSERVICE", prefix, apiPrefix)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.~", c)) {
			return "", fmt.Errorf("service name %q: only letters, digits and -_.~ are allowed", name)
		}
	}
	if name == "." || name == ".." {
		return "", fmt.Errorf("service name %q is not allowed", name)
	}
	return name, nil
}

// downstreamURL parses and checks a route's downstream base URL.
func downstreamURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, errors.New("downstream URL does not parse (want http://host:port)")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("downstream URL: scheme must be http or https")
	case u.Host == "" || u.Hostname() == "":
		return nil, errors.New("downstream URL has no host")
	case u.User != nil:
		return nil, errors.New("downstream URL must not hold credentials")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "":
		return nil, errors.New("downstream URL: no query or fragment allowed")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// setOptions applies the key=value options that follow a route's URL.
func (r *Route) setOptions(opts []string) error {
	var haveMode, haveActor bool
	for i, o := range opts {
		k, v, ok := strings.Cut(o, "=")
		if !ok || v == "" {
			return fmt.Errorf("option %d after the URL: want key=value", i+1)
		}
		switch k {
		case "audience":
			r.Audiences = append(r.Audiences, v)
		case "scope":
			if len(strings.Fields(v)) == 0 {
				return errors.New("empty scope")
			}
			r.Scopes = append(r.Scopes, strings.Fields(v)...)
		case "resource":
			if u, err := url.Parse(v); err != nil || !u.IsAbs() || u.Fragment != "" {
				return errors.New("a resource is not an absolute URI without fragment")
			}
			r.Resources = append(r.Resources, v)
		case "mode":
			if haveMode {
				return errors.New("mode given twice")
			}
			haveMode = true
			r.Mode = Mode(v)
		case "actor":
			if haveActor {
				return errors.New("actor given twice")
			}
			haveActor = true
			b, err := strconv.ParseBool(v)
			if err != nil {
				return errors.New("actor: want true or false")
			}
			r.Actor = b
		default:
			return fmt.Errorf("option %d after the URL: unknown key (want audience, scope, resource, mode or actor)", i+1)
		}
	}
	return r.checkMode()
}
