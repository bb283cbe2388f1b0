// Package gatewaytest is the end-to-end specification of the example
// gateways. Each example runs it against its own router, so that both
// routers are held to the same behaviour:
//
//	func TestGateway(t *testing.T) { gatewaytest.Run(t, newRouter) }
//
// Every test starts a testutil authority, downstream services and the
// gateway in-process on loopback ports chosen by the system.
package gatewaytest
