package exchange

// WaitingForSlot returns the number of flights waiting for a free slot.
func (x *Exchanger) WaitingForSlot() int64 { return x.waiting.Load() }
