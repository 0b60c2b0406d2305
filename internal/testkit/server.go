package testkit

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// StartServer serves srv (its Handler, timeouts and hooks as configured)
// on a fresh 127.0.0.1:0 listener and closes it at test cleanup. The
// returned server's URL is the base URL (http://127.0.0.1:PORT). Serving
// the caller's own http.Server, not a default one, keeps the timeouts
// under test in force.
func StartServer(t testing.TB, srv *http.Server) *httptest.Server {
	t.Helper()
	if srv == nil || srv.Handler == nil {
		t.Fatal("testkit: StartServer needs an http.Server with a Handler")
	}
	ts := httptest.NewUnstartedServer(srv.Handler)
	ts.Config = srv
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}
