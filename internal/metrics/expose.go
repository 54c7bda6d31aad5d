package metrics

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ContentType is the media type of the text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// ServeHTTP writes the metrics; a scrape allocates, a request does not.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodHead {
		return
	}
	m.WriteTo(w)
}

// WriteTo writes every metric in the text exposition format. Counters of
// (method, code) pairs never seen are left out, as client libraries do.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	b := &writer{w: bufio.NewWriter(w)}

	b.help("http_requests_total", "counter", "HTTP requests served, by status code and method.")
	for mi, method := range methods {
		for ci := range m.requests[mi] {
			n := m.requests[mi][ci].Load()
			if n == 0 {
				continue
			}
			code := "other"
			if ci != otherCode {
				code = strconv.Itoa(ci + minCode)
			}
			b.sample("http_requests_total", `code="`+code+`",method="`+method+`"`, strconv.FormatUint(n, 10))
		}
	}

	b.help("http_response_bytes_total", "counter", "Bytes of response bodies sent.")
	b.sample("http_response_bytes_total", "", strconv.FormatUint(m.bytes.Load(), 10))

	b.help("http_request_duration_seconds", "histogram", "Time from reading the request headers to the end of the response.")
	var cum uint64
	for i := range m.buckets {
		cum += m.buckets[i].Load()
		le := "+Inf"
		if i < len(DurationBounds) {
			le = seconds(DurationBounds[i])
		}
		b.sample("http_request_duration_seconds_bucket", `le="`+le+`"`, strconv.FormatUint(cum, 10))
	}
	b.sample("http_request_duration_seconds_sum", "", seconds(time.Duration(m.sumNanos.Load())))
	b.sample("http_request_duration_seconds_count", "", strconv.FormatUint(cum, 10))

	b.help("http_requests_in_flight", "gauge", "Requests being served.")
	b.sample("http_requests_in_flight", "", strconv.FormatInt(m.inFlight.Load(), 10))

	if m.cache != nil {
		c := m.cache()
		b.help("cache_entries", "gauge", "Files in the content index.")
		b.sample("cache_entries", "", strconv.Itoa(c.Entries))
		b.help("cache_streamed_entries", "gauge", "Files of the index too large to hold in memory, read from disk on each request.")
		b.sample("cache_streamed_entries", "", strconv.Itoa(c.Streamed))
		b.help("cache_bytes", "gauge", "Bytes of content held in memory, compressed variants included.")
		b.sample("cache_bytes", "", strconv.FormatInt(c.Bytes, 10))
	}

	b.help("reloads_total", "counter", "Content reloads (SIGHUP), by result.")
	b.sample("reloads_total", `result="ok"`, strconv.FormatUint(m.reloads[0].Load(), 10))
	b.sample("reloads_total", `result="error"`, strconv.FormatUint(m.reloads[1].Load(), 10))

	b.help("start_time_seconds", "gauge", "Start time of the process, in seconds since the Unix epoch.")
	b.sample("start_time_seconds", "", strconv.FormatFloat(float64(m.start.UnixMilli())/1e3, 'f', 3, 64))

	b.help("build_info", "gauge", "Always 1; the labels say which build is running.")
	b.sample("build_info", `version="`+escape(m.version)+`",goversion="`+escape(m.goVersion)+`"`, "1")

	for _, f := range m.extra {
		for _, x := range f() {
			b.help(x.Name, x.Type, x.Help)
			b.sample(x.Name, x.Labels, strconv.FormatFloat(x.Value, 'g', -1, 64))
		}
	}

	if err := b.w.Flush(); b.err == nil {
		b.err = err
	}
	return b.n, b.err
}

// writer keeps the first error, so that WriteTo reads as a list of metrics.
type writer struct {
	w   *bufio.Writer
	n   int64
	err error
}

func (b *writer) line(parts ...string) {
	for _, p := range parts {
		if b.err != nil {
			return
		}
		n, err := b.w.WriteString(p)
		b.n += int64(n)
		b.err = err
	}
}

func (b *writer) help(name, typ, text string) {
	b.line("# HELP ", Namespace, name, " ", text, "\n# TYPE ", Namespace, name, " ", typ, "\n")
}

func (b *writer) sample(name, labels, value string) {
	if labels != "" {
		labels = "{" + labels + "}"
	}
	b.line(Namespace, name, labels, " ", value, "\n")
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'g', -1, 64)
}

// escape escapes a label value: backslash, double quote and line feed are
// the characters the text format reserves.
var escape = Escape

// Escape escapes a label value of the text format.
var Escape = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace
