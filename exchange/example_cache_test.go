package exchange_test

import (
	"context"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// store is a Cache over a store of bytes, as one over Redis would be:
// entries go in as Entry.MarshalBinary's bytes and come out decoded. (A
// store shared over a network should also encrypt them, and honour ctx.)
type store struct {
	mu    sync.Mutex
	items map[exchange.Key]storedEntry
}

type storedEntry struct {
	data    []byte
	expires time.Time
}

func (s *store) Get(_ context.Context, k exchange.Key) (*exchange.Entry, error) {
	s.mu.Lock()
	it, ok := s.items[k]
	s.mu.Unlock()
	if !ok || !time.Now().Before(it.expires) {
		return nil, exchange.ErrCacheMiss
	}
	e := new(exchange.Entry)
	if err := e.UnmarshalBinary(it.data); err != nil {
		return nil, err // counted in Stats.CacheErrors, and taken for a miss
	}
	return e, nil
}

func (s *store) Set(_ context.Context, k exchange.Key, e *exchange.Entry, ttl time.Duration) error {
	data, err := e.MarshalBinary()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[k] = storedEntry{data: data, expires: time.Now().Add(ttl)}
	return nil
}

func (s *store) Delete(_ context.Context, k exchange.Key) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.items, k)
	return nil
}

// A Cache of your own: here a store of bytes, as a shared one would be.
func ExampleCache() {
	a := testutil.NewAuthority(nil, testutil.Options{})
	defer a.Close()
	a.AddClient(testutil.Client{ID: "gateway", Secret: "s3cret", ExchangeAudiences: []string{"orders-api"}})
	subject := authority.NewSubjectToken(a.UserToken("alice", "frontend", "gateway"))
	client, err := authority.New(authority.Config{TokenURL: a.TokenURL(), ClientID: "gateway", ClientSecret: "s3cret", HTTPClient: a.Client()})
	if err != nil {
		log.Fatal(err)
	}

	x, err := exchange.New(client, exchange.Options{Cache: &store{items: make(map[exchange.Key]storedEntry)}})
	if err != nil {
		log.Fatal(err)
	}
	defer x.Close() // the store is ours: the Exchanger does not close it
	target := exchange.Target{Audiences: []string{"orders-api"}}
	first, err := x.Exchange(context.Background(), subject, target)
	if err != nil {
		log.Fatal(err)
	}
	again, err := x.Exchange(context.Background(), subject, target)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same token:", again.AccessToken == first.AccessToken)
	st := x.Stats()
	fmt.Printf("exchanges=%d hits=%d cache errors=%d\n", st.Exchanges, st.Hits, st.CacheErrors)
	// Output:
	// same token: true
	// exchanges=1 hits=1 cache errors=0
}

// An Entry's binary encoding keeps its tokens; its JSON does not.
func ExampleEntry_MarshalBinary() {
	expiry := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	e := &exchange.Entry{
		Token:   &authority.Token{AccessToken: "issued-token", TokenType: "Bearer", Expiry: expiry},
		Expires: expiry.Add(-30 * time.Second),
	}
	data, err := e.MarshalBinary()
	if err != nil {
		log.Fatal(err)
	}
	var back exchange.Entry
	if err := back.UnmarshalBinary(data); err != nil {
		log.Fatal(err)
	}
	fmt.Println(back.Token.AccessToken == "issued-token", back.Expires.Equal(e.Expires))
	// Output:
	// true true
}

// Stats print with their field names.
func ExampleStats_String() {
	fmt.Println(exchange.Stats{Hits: 41, Misses: 1, Exchanges: 1, Entries: 1})
	// Output:
	// exchange.Stats{Hits:41 RefreshAheadHits:0 Misses:1 Coalesced:0 NegativeHits:0 Exchanges:1 Refreshes:0 RefreshFailures:0 RefreshSkipped:0 Errors:0 Busy:0 SlotTimeouts:0 Canceled:0 CacheErrors:0 Evictions:0 Entries:1 SharedHits:0 SharedErrors:0 LocksWon:0 LocksLost:0 LockErrors:0 WaitsFound:0 WaitsTimedOut:0 RefreshAdopted:0 InvalidationsPublished:0 InvalidationsReceived:0 InvalidationsApplied:0}
}
