package main

import (
	"testing"

	"github.com/go-tokenexchange/tokenexchange/examples/internal/gatewaytest"
)

func TestGateway(t *testing.T) { gatewaytest.Run(t, newRouter) }
