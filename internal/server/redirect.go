package server

import (
	"net"
	"net/http"
	"strings"
)

// redirectHandler answers plain-HTTP requests with a redirect to the same
// host, path and query over https on httpsPort. GET and HEAD get 301, which
// every client follows; other methods get 308, which keeps the method and
// body (RFC 9110 §15.4.9). /healthz and /readyz are answered here too, so
// that a load balancer may check the plain port.
func redirectHandler(httpsPort string, main *handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz":
			main.serve(w, r)
			return
		}
		target, ok := httpsURL(r.Host, httpsPort, r.URL.RequestURI())
		if !ok {
			// HTTP/1.0 without Host: there is no name to redirect to.
			plain(w, r, http.StatusBadRequest, "400 Bad Request: no Host header\n")
			return
		}
		code := http.StatusPermanentRedirect
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			code = http.StatusMovedPermanently
		}
		w.Header()["Location"] = []string{target}
		w.WriteHeader(code)
	})
}

// httpsURL builds the https URL for a request to host (the Host header,
// possibly with a port) and requestURI. The port of the Host header is the
// plain listener's and is replaced by httpsPort, left out when it is 443.
// net/http has already rejected Host headers with characters that could
// break the Location header.
func httpsURL(host, httpsPort, requestURI string) (string, bool) {
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
	if name == "" {
		return "", false
	}
	if httpsPort != "" && httpsPort != "443" {
		name = net.JoinHostPort(name, httpsPort)
	} else if strings.Contains(name, ":") {
		name = "[" + name + "]" // an IPv6 literal (RFC 3986 §3.2.2)
	}
	if requestURI == "" || requestURI[0] != '/' {
		requestURI = "/" // "*" or an absolute form: start over at the root
	}
	return "https://" + name + requestURI, true
}
