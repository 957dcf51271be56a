package bench

import (
	"net/http"
	"net/http/httptest"
)

// inProcess is an http.RoundTripper that serves every request with h on the
// calling goroutine: the Flink client talks to the emulator's REST API with
// no sockets.
type inProcess struct{ h http.Handler }

// RoundTrip implements http.RoundTripper. It blocks until h has answered.
func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}
