// Package metrics counts what gohttp-smol serves and writes the counts in
// the Prometheus text exposition format (version 0.0.4).
//
// It is written by hand rather than with the Prometheus client library,
// which would more than double the size of the server binary. Recording a
// request touches a few atomic counters found by small integer indexes: no
// map, lock or allocation on the hot path.
package metrics

import (
	"net/http"
	"sync/atomic"
	"time"
)

// Namespace prefixes every metric name.
const Namespace = "gohttp_smol_"

// methods are the request methods counted by name; every other method is
// counted as "OTHER", so that a client cannot create series at will.
var methods = [...]string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete,
	http.MethodOptions, http.MethodPatch, http.MethodConnect, http.MethodTrace, "OTHER",
}

const (
	otherMethod = len(methods) - 1
	minCode     = 100
	maxCode     = 599
	otherCode   = maxCode - minCode + 1 // slot for codes net/http allows beyond 599
)

// methodIndex maps a method to its slot. A switch on the string compiles to
// a few comparisons and allocates nothing.
func methodIndex(m string) int {
	switch m {
	case http.MethodGet:
		return 0
	case http.MethodHead:
		return 1
	case http.MethodPost:
		return 2
	case http.MethodPut:
		return 3
	case http.MethodDelete:
		return 4
	case http.MethodOptions:
		return 5
	case http.MethodPatch:
		return 6
	case http.MethodConnect:
		return 7
	case http.MethodTrace:
		return 8
	}
	return otherMethod
}

func codeIndex(code int) int {
	if code < minCode || code > maxCode {
		return otherCode
	}
	return code - minCode
}

// DurationBounds are the upper bounds of the request duration histogram's
// buckets. A static file from memory takes tens of microseconds, a large
// file on a slow link minutes.
var DurationBounds = [...]time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
	30 * time.Second, time.Minute,
}

// CacheStats describes the content held by the server, reported as gauges.
type CacheStats struct {
	Entries  int   // files served
	Streamed int   // of which read from disk on each request
	Bytes    int64 // bytes held in memory
}

// Metrics holds the counters of one server. The zero value is not usable:
// call New.
type Metrics struct {
	requests [len(methods)][otherCode + 1]atomic.Uint64
	bytes    atomic.Uint64
	buckets  [len(DurationBounds) + 1]atomic.Uint64 // the last one is +Inf
	sumNanos atomic.Int64
	inFlight atomic.Int64
	reloads  [2]atomic.Uint64 // ok, failed

	version, goVersion string
	cache              func() CacheStats
	extra              []func() []Sample
	start              time.Time
}

// New returns Metrics that report version and goVersion in build_info and
// read the cache gauges from cache (nil: none) at each scrape.
func New(version, goVersion string, cache func() CacheStats) *Metrics {
	return &Metrics{version: version, goVersion: goVersion, cache: cache, start: time.Now()}
}

// A Sample is one metric reported by a part of the server other than the
// request path (the ACME certificate's state). Name is without Namespace;
// Labels is the text between the braces, already escaped, or "".
type Sample struct {
	Name, Type, Help string
	Labels           string
	Value            float64
}

// Add reports the samples f returns at each scrape, after the built-in
// metrics. Call it before serving.
func (m *Metrics) Add(f func() []Sample) { m.extra = append(m.extra, f) }

// Begin counts a request as in flight; End must follow.
func (m *Metrics) Begin() { m.inFlight.Add(1) }

// End records a finished request: its method, status code, the body bytes
// sent and how long it took.
func (m *Metrics) End(method string, code int, bytes int64, d time.Duration) {
	m.inFlight.Add(-1)
	m.requests[methodIndex(method)][codeIndex(code)].Add(1)
	if bytes > 0 {
		m.bytes.Add(uint64(bytes))
	}
	// Linear search: the bounds fit in two cache lines and most requests
	// stop at the first or second one.
	i := 0
	for i < len(DurationBounds) && d > DurationBounds[i] {
		i++
	}
	m.buckets[i].Add(1)
	m.sumNanos.Add(int64(d))
}

// Reloaded counts a content reload, successful or not.
func (m *Metrics) Reloaded(ok bool) {
	if ok {
		m.reloads[0].Add(1)
	} else {
		m.reloads[1].Add(1)
	}
}
