package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-tokenexchange/tokenexchange/exchange/rediscache"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

const fleetSecret = "gateway-secret"

// fleet is an authority, a downstream "orders" and one Redis, for
// replicas of a gateway.
type fleet struct {
	a      *testutil.Authority
	orders *testutil.ResourceServer
	redis  *testutil.Redis
	// timeout is the replicas' RedisTimeout.
	timeout time.Duration
}

func newFleet(t *testing.T) *fleet {
	t.Helper()
	// A generous Redis deadline: under -race on two shared cores, 50ms
	// calls time out, and a missed Set costs an exchange.
	f := &fleet{a: testutil.NewAuthority(t, testutil.Options{}), redis: testutil.StartRedis(t), timeout: 2 * time.Second}
	f.a.AddClient(testutil.Client{ID: "gateway", Secret: fleetSecret, ExchangeAudiences: []string{"orders", "billing"}})
	f.orders = testutil.NewResourceServer(t, f.a, "orders")
	return f
}

// replica is one running gateway.
type replica struct {
	g   *Gateway
	url string
}

// start runs a replica with the given routes against f's authority and
// redisURL ("" for none), all with the same cache key. t.Cleanup stops it.
func (f *fleet) start(t *testing.T, redisURL string, routes ...string) replica {
	t.Helper()
	cfg := Config{TokenURL: f.a.TokenURL(), ClientID: "gateway", ClientSecret: fleetSecret}
	if redisURL != "" {
		cfg.RedisURL, cfg.CacheKeys, cfg.RedisTimeout = redisURL, [][]byte{testKey1}, f.timeout
	}
	for _, r := range routes {
		cfg.Routes = append(cfg.Routes, mustRoute(r))
	}
	g, err := New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", g.Readyz)
	mux.Handle("/api/{service}/", g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.Proxy(w, r, r.PathValue("service"))
	})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close) // before g.Close
	return replica{g: g, url: srv.URL}
}

// fetch sends GET url with the bearer token (none when "") and returns the
// status.
func fetch(t testing.TB, url, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Error(err)
		return 0
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestFleetSharesTokens: three replicas on one Redis with the same cache
// key. A subject's token exchanged by one is served by the others from
// Redis; concurrent requests for a new subject spread over the three make
// exactly one exchange for the fleet (the fleet lock); nothing in Redis
// is a token in clear.
func TestFleetSharesTokens(t *testing.T) {
	f := newFleet(t)
	route := "/api/orders=" + f.orders.URL + ";audience=orders"
	rs := []replica{f.start(t, f.redis.URL(), route), f.start(t, f.redis.URL(), route), f.start(t, f.redis.URL(), route)}

	alice := f.a.UserToken("alice", "web")
	if got := fetch(t, rs[0].url+"/api/orders/1", alice); got != http.StatusOK {
		t.Fatalf("replica 0: %d", got)
	}
	for i := range 3 {
		for _, r := range rs[1:] {
			if got := fetch(t, r.url+"/api/orders/1", alice); got != http.StatusOK {
				t.Fatalf("request %d: %d", i, got)
			}
		}
	}
	if n := f.a.ExchangesFor("alice"); n != 1 {
		t.Errorf("alice: %d exchanges for the fleet, want 1 (the others from Redis)", n)
	}
	seen := map[string]bool{}
	for _, rec := range f.orders.Received() {
		seen[rec.Token] = true
	}
	if len(seen) != 1 {
		t.Errorf("the replicas sent %d different tokens, want 1", len(seen))
	}

	// Many concurrent requests for a new subject, spread over the fleet.
	const perReplica = 100
	bob := f.a.UserToken("bob", "web")
	start := make(chan struct{})
	var wg sync.WaitGroup
	statuses := make([]int, len(rs)*perReplica)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i] = fetch(t, rs[i%len(rs)].url+"/api/orders/2", bob)
		}()
	}
	close(start)
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Fatalf("request %d: %d", i, s)
		}
	}
	n := f.a.ExchangesFor("bob")
	if n != 1 {
		t.Errorf("bob: %d exchanges for %d concurrent requests on %d replicas, want 1", n, len(statuses), len(rs))
	}

	// Redis holds no token in clear.
	keys, err := f.redis.Do("KEYS", "*")
	if err != nil {
		t.Fatal(err)
	}
	all, _ := keys.([]any)
	if len(all) == 0 {
		t.Fatal("nothing in Redis")
	}
	var raw strings.Builder
	for _, k := range all {
		key, _ := k.(string)
		raw.WriteString(key)
		if v, err := f.redis.Do("GET", key); err == nil {
			s, _ := v.(string)
			raw.WriteString(s)
		}
	}
	for _, rec := range f.orders.Received() {
		if strings.Contains(raw.String(), rec.Token) || strings.Contains(raw.String(), rec.Token[len(rec.Token)-24:]) {
			t.Fatal("Redis holds a token in clear")
		}
	}
	for _, s := range []string{alice, bob, "alice", "bob"} {
		if strings.Contains(raw.String(), s) {
			t.Fatalf("Redis holds a subject token or name %q", s)
		}
	}
}

// TestFleetRefusalWindow: the route of every replica asks for a token the
// downstream refuses (audience billing for orders). The storm on replica A
// costs the authority its two exchanges (the first and one re-exchange)
// and opens the refusal window in Redis; replicas B and C pass their 401s
// on with A's token from Redis: no exchange, no resend.
func TestFleetRefusalWindow(t *testing.T) {
	f := newFleet(t)
	route := "/api/orders=" + f.orders.URL + ";audience=billing"
	a, b, c := f.start(t, f.redis.URL(), route), f.start(t, f.redis.URL(), route), f.start(t, f.redis.URL(), route)
	alice := f.a.UserToken("alice", "web")
	for i := range 10 {
		if got := fetch(t, a.url+"/api/orders/1", alice); got != http.StatusUnauthorized {
			t.Fatalf("A, request %d: %d", i, got)
		}
	}
	if n := f.a.ExchangesFor("alice"); n != 2 {
		t.Fatalf("A: %d exchanges, want 2", n)
	}
	received := len(f.orders.Received())
	if received != 11 {
		t.Errorf("A: %d requests downstream, want 11 (one resend)", received)
	}
	for _, r := range []replica{b, c} {
		for i := range 10 {
			if got := fetch(t, r.url+"/api/orders/1", alice); got != http.StatusUnauthorized {
				t.Fatalf("request %d: %d", i, got)
			}
		}
	}
	if n := f.a.ExchangesFor("alice"); n != 2 {
		t.Errorf("after B and C: %d exchanges, want still 2", n)
	}
	if got := len(f.orders.Received()); got != received+20 {
		t.Errorf("B and C: %d requests downstream, want 20 (no resend)", got-received)
	}
	keys, err := f.redis.Do("KEYS", rediscache.DefaultNamespace+"refusal:*")
	if err != nil {
		t.Fatal(err)
	}
	if all, _ := keys.([]any); len(all) != 1 {
		t.Errorf("refusal windows in Redis: %v, want 1", keys)
	}
}

// TestGatewayRedisDown: a replica whose Redis is down starts, is ready,
// and serves on its own.
func TestGatewayRedisDown(t *testing.T) {
	f := newFleet(t)
	f.redis.Kill()
	f.timeout = 0 // the default
	r := f.start(t, f.redis.URL(), "/api/orders="+f.orders.URL+";audience=orders")
	if got := fetch(t, r.url+"/readyz", ""); got != http.StatusOK {
		t.Errorf("/readyz: %d, want 200 (it does not depend on Redis)", got)
	}
	alice := f.a.UserToken("alice", "web")
	for i := range 5 {
		if got := fetch(t, r.url+"/api/orders/1", alice); got != http.StatusOK {
			t.Fatalf("request %d: %d", i, got)
		}
	}
	if n := f.a.ExchangesFor("alice"); n < 1 {
		t.Errorf("%d exchanges", n)
	}
}

// TestRunRedisDown: the program, given -redis-url of a stopped Redis and
// -cache-key, starts, answers /readyz 200 and serves.
func TestRunRedisDown(t *testing.T) {
	f := newFleet(t)
	f.redis.Kill()
	args := []string{
		"-listen", "127.0.0.1:0", "-token-url", f.a.TokenURL(), "-client-id", "gateway", "-client-secret", fleetSecret,
		"-route", "/api/orders=" + f.orders.URL + ";audience=orders",
		"-redis-url", f.redis.URL(), "-cache-key", testKey1B64 + "," + testKey2B64,
	}
	run := startRun(t, args, func(g *Gateway) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /readyz", g.Readyz)
		mux.Handle("/api/{service}/", g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			g.Proxy(w, r, r.PathValue("service"))
		})))
		return mux
	}, nil)
	base := "http://" + run.addr
	if got := fetch(t, base+"/readyz", ""); got != http.StatusOK {
		t.Errorf("/readyz: %d, want 200", got)
	}
	if got := fetch(t, base+"/api/orders/1", f.a.UserToken("alice", "web")); got != http.StatusOK {
		t.Errorf("request: %d, want 200", got)
	}
}
