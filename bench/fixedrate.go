package main

// The fixed-rate load generator: the server's CPU per request at a rate
// below saturation, which is where servers spend most of their life.
//
// wrk measures a server at saturation, and with one thread on one core it
// tops out near 110k small requests/s, so past that its figures measure
// wrk. At a fixed rate every server does the same work per second, and the
// figure that tells them apart is the server's CPU time divided by the
// requests it completed.
//
// The generator is open-loop at the level of the schedule: request k is
// due at start + k/rate whatever happened to the ones before it, and is
// handed to the connections in turn. A connection sends one request at a
// time on a keep-alive connection (as wrk does); a request due while its
// connection still waits for an answer goes out as soon as the answer is
// in, and counts as late. So a server that cannot keep up completes fewer
// requests than asked, which the report flags, rather than seeing the rate
// quietly lowered.
//
// Pacing: the Go runtime sleeps with a millisecond's resolution (its
// netpoller's timeout), which would send the requests in bursts of rate/1000.
// The schedule is instead kept by one goroutine on a thread of its own that
// sleeps with nanosleep(2), whose resolution is the kernel's timer slack
// (50µs by default).

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// fixedSettings are the fixed-rate load settings, the same for every server.
type fixedSettings struct {
	Rates       []int         `json:"rates"` // requests/s, one set of runs each
	Connections int           `json:"connections"`
	Duration    time.Duration `json:"duration_ns"`
	Rounds      int           `json:"rounds"`
	File        string        `json:"file"` // the benchFile key loaded
}

// fixedResult is what one fixed-rate run measured.
type fixedResult struct {
	Requests int64         `json:"requests"`    // completed with a 200
	Duration time.Duration `json:"duration_ns"` // from the first request due to the last answer
	Late     int64         `json:"late"`        // sent more than lateAfter after they were due
	P50      time.Duration `json:"p50_ns"`      // from when the request was due to its answer
	P99      time.Duration `json:"p99_ns"`
	Errors   int64         `json:"errors"` // failed connections and statuses other than 200
	// Reconnects counts connections the server closed between requests
	// (lighttpd does after 1,000 requests), replaced as wrk replaces them.
	Reconnects int64 `json:"reconnects"`
}

// lateAfter is how long after it was due a request may leave and still be
// on time: a few timer slacks.
const lateAfter = 500 * time.Microsecond

// fixedRate loads addr at rate requests/s for d over conns keep-alive
// connections, each request being raw, and reports what completed. Only
// ctx's end is an error; a run that went wrong is a result with Errors.
func fixedRate(ctx context.Context, addr string, raw []byte, rate, conns int, d time.Duration) (fixedResult, error) {
	var res fixedResult
	if rate <= 0 || conns <= 0 || d <= 0 {
		return res, fmt.Errorf("fixed rate: rate %d, %d connections, duration %v: all must be positive", rate, conns, d)
	}
	total := int(int64(rate) * int64(d) / int64(time.Second))
	ctx, cancel := context.WithTimeout(ctx, d+10*time.Second)
	defer cancel()

	type conn struct {
		due  chan time.Time
		lat  []time.Duration
		late int64
	}
	cs := make([]*conn, conns)
	for i := range cs {
		// Room for every request of the run: the schedule never waits for
		// a connection.
		cs[i] = &conn{due: make(chan time.Time, total/conns+2), lat: make([]time.Duration, 0, total/conns+1)}
	}
	var ok, errs, reconnects atomic.Int64
	var wg sync.WaitGroup
	ready := make(chan error, conns)
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var nc net.Conn
			var br *bufio.Reader
			dial := func() error {
				c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
				if err != nil {
					return err
				}
				context.AfterFunc(ctx, func() { c.Close() })
				nc, br = c, bufio.NewReaderSize(c, 64<<10)
				return nil
			}
			err := dial()
			ready <- err
			broken := err != nil
			if broken {
				errs.Add(1)
			}
			defer func() {
				if nc != nil {
					nc.Close()
				}
			}()
			// exchange sends the request and reads the answer; when the
			// server had closed the connection before the request reached
			// it, it dials again and sends it once more.
			exchange := func() (int, error) {
				for try := 0; ; try++ {
					_, err := nc.Write(raw)
					if err == nil {
						var status int
						status, err = readResponse(br)
						if err == nil {
							return status, nil
						}
					}
					if try > 0 || !closedBetween(err, br) || ctx.Err() != nil {
						return 0, err
					}
					nc.Close()
					if err := dial(); err != nil {
						return 0, err
					}
					reconnects.Add(1)
				}
			}
			for due := range c.due {
				if broken {
					continue
				}
				if time.Since(due) > lateAfter {
					c.late++
				}
				status, err := exchange()
				if err != nil {
					errs.Add(1)
					broken = true
					continue
				}
				c.lat = append(c.lat, time.Since(due))
				if status == 200 {
					ok.Add(1)
				} else {
					errs.Add(1)
				}
			}
		}()
	}
	for range cs {
		if err := <-ready; err != nil {
			break // counted; the schedule still runs, so the run ends on time
		}
	}

	start := time.Now()
	schedule(ctx, start, rate, total, func(k int, due time.Time) { cs[k%conns].due <- due })
	for _, c := range cs {
		close(c.due)
	}
	wg.Wait()
	res.Duration = time.Since(start)
	if ctx.Err() != nil && ctx.Err() != context.DeadlineExceeded {
		return res, ctx.Err()
	}
	var lat []time.Duration
	for _, c := range cs {
		lat = append(lat, c.lat...)
		res.Late += c.late
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		res.P50, res.P99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	res.Requests, res.Errors, res.Reconnects = ok.Load(), errs.Load(), reconnects.Load()
	return res, nil
}

// closedBetween reports whether err says the server closed the connection
// before sending any of the answer: an end of file or a reset with nothing
// buffered, or a write refused.
func closedBetween(err error, br *bufio.Reader) bool {
	if br.Buffered() > 0 {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// schedule calls send(k, due) for k from 0 to total-1 at start + k/rate, on
// a thread of its own so that nanosleep(2) keeps the time.
func schedule(ctx context.Context, start time.Time, rate, total int, send func(k int, due time.Time)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for k := 0; k < total && ctx.Err() == nil; k++ {
			due := start.Add(time.Duration(int64(k) * int64(time.Second) / int64(rate)))
			if wait := time.Until(due); wait > 0 {
				ts := syscall.NsecToTimespec(int64(wait))
				syscall.Nanosleep(&ts, nil) // EINTR: wake early, the next due time is recomputed
			}
			send(k, due)
		}
	}()
	<-done
}

// readResponse reads one HTTP/1.1 response framed by Content-Length, as
// the servers under test send a static file, and returns its status. Its
// error is io.EOF only when the connection ended before the response began.
func readResponse(br *bufio.Reader) (int, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if len(line) > 0 && errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	length := int64(-1)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			break
		}
		name, value, found := bytes.Cut(line, []byte(":"))
		if found && bytes.EqualFold(name, []byte("Content-Length")) {
			if length, err = strconv.ParseInt(string(bytes.TrimSpace(value)), 10, 64); err != nil {
				return 0, fmt.Errorf("bad Content-Length %q", value)
			}
		}
	}
	if length < 0 {
		return 0, errors.New("response without Content-Length")
	}
	if _, err := br.Discard(int(length)); err != nil {
		return 0, err
	}
	return status, nil
}

// fixedRequest is the request a fixed-rate run sends for f.
func fixedRequest(f benchFile) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", f.Path())
	for _, h := range f.headers() {
		fmt.Fprintf(&b, "%s\r\n", h)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// clientCPU returns the CPU time this process has used.
func clientCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
