package simulator

// Per-method SOAP request statistics since start or the last reset, for
// benchmarks and "one round trip" tests (admin API: GET/POST /admin/stats).

import (
	"sync"
	"time"
)

type methodStats struct {
	Calls   int     `json:"calls"`
	Faults  int     `json:"faults"`  // answered with a SOAP fault (HTTP 500)
	Dropped int     `json:"dropped"` // connection closed without a response
	Bytes   int64   `json:"bytes"`   // response bytes written
	Seconds float64 `json:"seconds"` // time spent serving them, latency included
}

type statsSnapshot struct {
	Since   time.Time               `json:"since"`
	Calls   int                     `json:"calls"`
	Bytes   int64                   `json:"bytes"`
	Methods map[string]*methodStats `json:"methods"`
}

type requestStats struct {
	mu      sync.Mutex
	since   time.Time
	methods map[string]*methodStats
}

var adminStats = &requestStats{since: time.Now(), methods: make(map[string]*methodStats)}

// record counts one SOAP request; method is "" when the body did not parse.
func (s *requestStats) record(method string, status, bytes int, dropped bool, spent time.Duration) {
	if method == "" {
		method = "(unparsed)"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.methods[method]
	if m == nil {
		m = new(methodStats)
		s.methods[method] = m
	}
	m.Calls++
	m.Bytes += int64(bytes)
	m.Seconds += spent.Seconds()
	if dropped {
		m.Dropped++
	} else if status >= 500 {
		m.Faults++
	}
}

// snapshot copies the figures; with reset, it also starts counting afresh.
func (s *requestStats) snapshot(reset bool) statsSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := statsSnapshot{Since: s.since, Methods: make(map[string]*methodStats, len(s.methods))}
	for name, m := range s.methods {
		c := *m
		out.Methods[name] = &c
		out.Calls += c.Calls
		out.Bytes += c.Bytes
	}
	if reset {
		s.since = time.Now()
		s.methods = make(map[string]*methodStats)
	}
	return out
}
