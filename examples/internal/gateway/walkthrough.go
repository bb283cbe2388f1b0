package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// Walkthrough shows the flow on the running gateway at base, printing to
// out: the demo user logs in, calls a service through the gateway twice
// (one exchange, then a cache hit), calls the fan-out handler, and calls
// without a token. It prints what each downstream service received and
// returns an error when anything answers other than expected.
func Walkthrough(ctx context.Context, out io.Writer, base string, d *Demo, g *Gateway) error {
	w := walker{out: out, base: base, d: d, g: g}
	fmt.Fprintf(out, "\nWalkthrough: gateway %s, authority %s,\n  orders %s, billing %s\n\n", base, d.Authority.URL, d.Orders.URL, d.Billing.URL)

	token, err := d.UserToken(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "1. %s logs in at the authority (password grant, client %q) and gets a token for aud %q.\n\n", DemoUser, DemoLoginClient, DemoGatewayID)

	fmt.Fprintf(out, "2. GET /api/orders/42 with that token: the gateway exchanges it for a token for orders.\n")
	if err := w.call(ctx, token, "/api/orders/42", http.StatusOK, d.Orders); err != nil {
		return err
	}
	fmt.Fprintf(out, "3. The same request again: the exchanged token comes from the cache.\n")
	if err := w.call(ctx, token, "/api/orders/42", http.StatusOK, d.Orders); err != nil {
		return err
	}
	fmt.Fprintf(out, "4. GET /summary: the gateway's own handler calls orders and billing with r.Context().\n")
	if err := w.call(ctx, token, "/summary", http.StatusOK, d.Orders, d.Billing); err != nil {
		return err
	}
	fmt.Fprintf(out, "5. GET /api/orders/42 without a token: refused at the gateway, nothing reaches orders.\n")
	return w.call(ctx, "", "/api/orders/42", http.StatusUnauthorized)
}

// walker makes the walkthrough's requests and prints their effects.
type walker struct {
	out  io.Writer
	base string
	d    *Demo
	g    *Gateway
}

// call sends GET path with token (none if ""), checks the status, and
// prints what each of the services received and what the exchange cost.
func (w walker) call(ctx context.Context, token, path string, want int, services ...*testutil.ResourceServer) error {
	before := make([]int, len(services))
	for i, s := range services {
		before[i] = len(s.Received())
	}
	exchangesBefore := w.d.Authority.Count(testutil.GrantTokenExchange)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.base+path, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxPartBody))
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("GET %s: status %d, want %d: %s", path, resp.StatusCode, want, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(w.out, "   -> %s", resp.Status)
	if c := resp.Header.Get("WWW-Authenticate"); c != "" {
		fmt.Fprintf(w.out, ", WWW-Authenticate: %s", c)
	}
	fmt.Fprintln(w.out)
	for i, s := range services {
		got := s.Received()[before[i]:]
		if len(got) != 1 {
			return fmt.Errorf("GET %s: %s received %d requests, want 1", path, s.Audience, len(got))
		}
		fmt.Fprintf(w.out, "   %-8s received %s\n", s.Audience+":", describe(got[0]))
	}
	st := w.g.Stats()
	n := w.d.Authority.Count(testutil.GrantTokenExchange) - exchangesBefore
	switch {
	case len(services) == 0:
		fmt.Fprintf(w.out, "   token exchanges at the authority: none\n\n")
	case n == 0:
		fmt.Fprintf(w.out, "   token exchanges at the authority: none, cache hit (gateway cache: hits=%d misses=%d)\n\n", st.Hits, st.Misses)
	default:
		fmt.Fprintf(w.out, "   token exchanges at the authority: %d new (gateway cache: hits=%d misses=%d)\n\n", n, st.Hits, st.Misses)
	}
	return nil
}

// describe prints the claims a downstream service saw.
func describe(r testutil.Received) string {
	if !r.Authorized {
		return fmt.Sprintf("%s %s, refused: %s", r.Method, r.Path, r.Err)
	}
	act := "(none)"
	if len(r.Act) > 0 {
		act = strings.Join(r.Act, " <- ")
	}
	return fmt.Sprintf("%s %s  sub=%s  aud=%s  act=%s  scope=%q", r.Method, r.Path, r.Subject, strings.Join(r.Audience, ","), act, r.Scope)
}

// TryIt prints curl commands for the running demo gateway at base, with
// a fresh token for the demo user and the command that gets another.
func TryIt(ctx context.Context, out io.Writer, base string, d *Demo) error {
	token, err := d.UserToken(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, `Try it (this token for %[1]s is valid for %[2]s; Ctrl-C stops the gateway):

  TOKEN='%[3]s'
  curl -H "Authorization: Bearer $TOKEN" %[4]s/api/orders/42
  curl -H "Authorization: Bearer $TOKEN" %[4]s/summary
  curl -i %[4]s/api/billing/7      # no token: 401

Operations (no token):
  curl %[4]s/readyz                 # 200 ready, or 503 and why
  curl -s %[4]s/metrics | grep tokenexchange_

A fresh token (password grant at the embedded authority):
  TOKEN=$(curl -s %[5]s -d grant_type=password -d client_id=%[6]s \
    -d username=%[1]s -d password=%[7]s -d audience=%[8]s -d 'scope=orders.read billing.read' \
    | sed -E 's/.*"access_token":"([^"]+)".*/\1/')

`, DemoUser, demoTokenLifetime, token, base, d.Authority.TokenURL(), DemoLoginClient, DemoPassword, DemoGatewayID)
	return nil
}
