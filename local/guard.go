package local

import (
	"net"
	"net/http"
	"strings"
)

// sameMachineOnly serves next only to requests that come from this machine
// and not from a browser page of another origin. The front endpoint has no
// authentication of its own (Step Functions' GetExecutionHistory shows task
// tokens, /local/endpoints the S3 keys, SNS Publish starts a request), so
// listening on loopback is not enough:
//
//   - DNS rebinding: a page of evil.example whose name now resolves to
//     127.0.0.1 reaches the port, with Host evil.example. Only a Host
//     naming a loopback address (localhost, 127.0.0.1, [::1], ...) and the
//     stack's port is served.
//   - Cross-site requests: a page of any origin can POST a form or a
//     text/plain body here without a preflight. A request whose Origin is
//     not this server's own ("http://" + its Host), or whose Sec-Fetch-Site
//     is neither same-origin nor none (typed by the user), is refused.
//
// The AWS SDK clients and egress-local send no Origin nor Sec-Fetch-Site,
// so they are served as before. A link to a console page followed from
// another site (an e-mail's link in a webmail) is a cross-site top-level
// navigation, let through (consoleNavigation).
func sameMachineOnly(port string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host, port) {
			http.Error(w, "forbidden: the local stack answers only to Host localhost, 127.0.0.1 or [::1] with port "+port, http.StatusForbidden)
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" && origin != "http://"+r.Host {
			http.Error(w, "forbidden: cross-origin requests are refused", http.StatusForbidden)
			return
		}
		switch r.Header.Get("Sec-Fetch-Site") {
		case "", "same-origin", "none":
		default:
			if consoleNavigation(r) {
				break
			}
			http.Error(w, "forbidden: cross-site requests are refused", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackHost reports whether host (a Host header) names a loopback
// address with port; without a port it is port 80.
func loopbackHost(host, port string) bool {
	name, p, err := net.SplitHostPort(host)
	if err != nil {
		name, p = host, "80"
	}
	if p != port {
		return false
	}
	if strings.EqualFold(name, "localhost") {
		return true
	}
	ip := net.ParseIP(name)
	return ip != nil && ip.IsLoopback()
}

// consoleNavigation reports whether r is a link followed to a page of the
// console (an e-mail's <url>/#<id> clicked in a webmail): a top-level GET
// of a document, which the page that linked cannot read, and which the
// console answers with its static files only.
func consoleNavigation(r *http.Request) bool {
	return r.Method == http.MethodGet && r.Header.Get("Sec-Fetch-Mode") == "navigate" &&
		r.Header.Get("Sec-Fetch-Dest") == "document" && r.Header.Get("X-Amz-Target") == "" &&
		!strings.HasPrefix(r.URL.Path, "/local/") && r.URL.Path != "/graphql" && !strings.HasPrefix(r.URL.Path, "/v2/")
}
