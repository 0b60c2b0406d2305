package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is an io.Writer safe for the server's goroutines and the
// test reading it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// jsonRecords decodes the JSON lines slog wrote.
func jsonRecords(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestErrorLogLines(t *testing.T) {
	tests := []struct {
		name  string
		line  string
		level string
		msg   string
		attrs map[string]string
	}{
		{"TLS handshake, IPv4", "http: TLS handshake error from 10.0.0.7:51234: tls: first record does not look like a TLS handshake\n",
			"WARN", "TLS handshake failed", map[string]string{"remote": "10.0.0.7:51234", "error": "tls: first record does not look like a TLS handshake"}},
		{"TLS handshake, IPv6", "http: TLS handshake error from [::1]:443: remote error: tls: bad certificate\n",
			"WARN", "TLS handshake failed", map[string]string{"remote": "[::1]:443", "error": "remote error: tls: bad certificate"}},
		{"other net/http error", "http: Accept error: too many open files; retrying in 5ms\n",
			"ERROR", "http server", map[string]string{"error": "Accept error: too many open files; retrying in 5ms"}},
		{"control characters are cleaned", "http: TLS handshake error from 1.2.3.4:5: bad\x1b[31m\n",
			"WARN", "TLS handshake failed", map[string]string{"remote": "1.2.3.4:5", "error": `bad\x1b[31m`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf lockedBuffer
			l := ErrorLog(slog.New(slog.NewJSONHandler(&buf, nil)))
			l.Print(tt.line)
			recs := jsonRecords(t, buf.String())
			if len(recs) != 1 {
				t.Fatalf("got %d records, want 1: %s", len(recs), buf.String())
			}
			r := recs[0]
			if r["level"] != tt.level || r["msg"] != tt.msg {
				t.Errorf("level %v msg %v, want %s %q", r["level"], r["msg"], tt.level, tt.msg)
			}
			for k, want := range tt.attrs {
				if r[k] != want {
					t.Errorf("%s = %q, want %q", k, r[k], want)
				}
			}
		})
	}
}

// A client that speaks plain HTTP to the TLS port fails the handshake; the
// failure is a structured record of the server's logger, not a plain line
// on Go's standard logger.
func TestTLSHandshakeErrorIsStructured(t *testing.T) {
	var buf lockedBuffer
	srv := NewHTTPServer(http.NotFoundHandler(), Timeouts{})
	if srv.ErrorLog == nil {
		t.Fatal("NewHTTPServer leaves ErrorLog nil: net/http would use Go's plain logger")
	}
	srv.ErrorLog = ErrorLog(slog.New(slog.NewJSONHandler(&buf, nil)))
	ts := httptest.NewUnstartedServer(srv.Handler)
	ts.Config = srv
	ts.StartTLS()
	t.Cleanup(ts.Close)

	c, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	_, _ = c.Read(make([]byte, 512)) // the server answers or closes
	c.Close()

	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), "TLS handshake failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no structured handshake record; log: %q", buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, r := range jsonRecords(t, buf.String()) {
		if r["msg"] == "TLS handshake failed" {
			if r["level"] != "WARN" || !strings.HasPrefix(r["remote"].(string), "127.0.0.1:") || r["error"] == "" {
				t.Errorf("record %v, want WARN with remote 127.0.0.1:* and an error", r)
			}
		}
	}
}
