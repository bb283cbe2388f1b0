package exchange

// WaitingForSlot returns the number of flights waiting for a free slot.
func (x *Exchanger) WaitingForSlot() int64 { return x.waiting.Load() }

// FlightLinks returns the links to waiting callers' spans that the flights
// in progress have been given (see flightTrace.addWaiter).
func (x *Exchanger) FlightLinks() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for _, cs := range x.pending {
		if cs.ft != nil {
			n += cs.ft.n
		}
	}
	return n
}
