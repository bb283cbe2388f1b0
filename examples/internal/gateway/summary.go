package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"

	"github.com/go-tokenexchange/tokenexchange/outbound"
)

// maxPartBody bounds what the fan-out reads from each downstream answer.
const maxPartBody = 1 << 20

// Part is one downstream answer in the body of Summary.
type Part struct {
	// Status is the downstream's HTTP status.
	Status int `json:"status"`
	// Body is its JSON body, or its text as a JSON string when it is not
	// JSON.
	Body json.RawMessage `json:"body"`
}

// Summary calls every service itself, concurrently, with the request's
// context (and so with the caller's token, exchanged per service by the
// outbound transport): GET URL/api/SERVICE/summary. It answers a JSON
// object with one Part per service. When a call cannot be made (its token
// refused, the authority down), it answers as the reverse proxy would:
// the status of outbound.StatusFor. Mount it behind Authenticate.
func (g *Gateway) Summary(w http.ResponseWriter, r *http.Request) {
	parts := make(map[string]Part, len(g.routes))
	errs := make([]error, len(g.routes))
	var mu sync.Mutex // guards parts
	var wg sync.WaitGroup
	for i, rt := range g.routes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := g.call(r, rt.URL.String()+rt.Prefix+"/summary")
			if err != nil {
				errs[i] = err
				return
			}
			mu.Lock()
			parts[rt.Service] = p
			mu.Unlock()
		}()
	}
	wg.Wait()
	if pick := mostRelevant(errs); pick >= 0 {
		// onError logs the error answered with; the others at Debug.
		for i, e := range errs {
			if e != nil && i != pick {
				g.log.DebugContext(r.Context(), "summary: call failed", "service", g.routes[i].Service, "error", e)
			}
		}
		g.onError(w, r, errs[pick])
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(parts)
}

// call makes one downstream GET on behalf of the caller of in.
func (g *Gateway) call(in *http.Request, url string) (Part, error) {
	req, err := http.NewRequestWithContext(in.Context(), http.MethodGet, url, nil)
	if err != nil {
		return Part{}, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := g.client.Do(req)
	if err != nil {
		return Part{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPartBody))
	if err != nil {
		return Part{}, err
	}
	if !json.Valid(body) {
		body, _ = json.Marshal(string(body))
	}
	return Part{Status: resp.StatusCode, Body: body}, nil
}

// mostRelevant returns the index of the error to answer with when calls
// failed, -1 when none did: the one with the lowest status
// (outbound.StatusFor), so that a refused caller token (401) or access
// (403) wins over the gateway's own trouble (502, 503).
func mostRelevant(errs []error) int {
	pick, best := -1, 0
	for i, err := range errs {
		if err == nil {
			continue
		}
		if st, _ := outbound.StatusFor(err); pick < 0 || st < best {
			pick, best = i, st
		}
	}
	return pick
}
