package grpccreds_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/go-tokenexchange/tokenexchange/middleware/grpcauth"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// sharedMemory is an in-process outbound.RefusalMemory, as Redis is for
// the replicas of a gateway.
type sharedMemory struct {
	mu    sync.Mutex // guards until
	until map[[32]byte]time.Time
}

func (m *sharedMemory) Remember(_ context.Context, key [32]byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.until[key] = time.Now().Add(ttl)
	return nil
}

func (m *sharedMemory) Recall(_ context.Context, key [32]byte) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return max(time.Until(m.until[key]), 0), nil
}

// TestFleetRefusalMemory: a refusal window one replica opened for a gRPC
// destination is found by another through the shared RefusalMemory: the
// second replica passes the refusal on without exchanging a fresh token.
func TestFleetRefusalMemory(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	a.AddClient(testutil.Client{ID: "gateway", Secret: gatewaySecret, ExchangeAudiences: []string{"orders"}})
	v := &refusing{}
	v.refuseAll()
	srv := startServer(t, grpcauth.Options{Validator: v}, nil)
	mem := &sharedMemory{until: map[[32]byte]time.Time{}}
	user := a.UserToken("alice", "web", "gateway")

	var replicas []*outbound.Transport
	var clients []healthpb.HealthClient
	for range 2 {
		tr := exchangeTransport(t, newExchanger(t, newClient(t, a, "gateway", gatewaySecret)), srv, "orders",
			outbound.Options{RefusalMemory: mem, RefusalWindow: time.Hour})
		c, _ := srv.dial(t, tr)
		replicas, clients = append(replicas, tr), append(clients, c)
	}
	_, err := clients[0].Check(userContext(user), &healthpb.HealthCheckRequest{})
	assert.Equal(t, codes.Unauthenticated, status.Code(err))
	assert.Equal(t, 2, a.ExchangesFor("alice"), "replica 0: a token and a fresh one")

	_, err = clients[1].Check(userContext(user), &healthpb.HealthCheckRequest{})
	assert.Equal(t, codes.Unauthenticated, status.Code(err))
	assert.Equal(t, 3, a.ExchangesFor("alice"), "replica 1: its first token only, no fresh one")
	assert.Equal(t, uint64(1), replicas[1].Stats().SharedWindows)
	assert.Equal(t, uint64(0), replicas[1].Stats().Retries)
}
