package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// TestAttack7AdminListenerKeepsIdleConnections: the admin endpoint (the
// emergency freeze) shares the metrics listener, whose http.Server has
// neither an idle nor a read timeout and no connection cap, unlike the
// check listener (idle_timeout, max_connections). Anyone who can reach
// that listener, without the token, keeps as many keep-alive connections
// open as they like, for ever: file descriptors of the whole process
// (check listener and store included) run out, and the freeze endpoint
// stops accepting exactly when it is needed. The metrics listener must
// use the configured idle timeout (and a connection cap).
func TestAttack7AdminListenerKeepsIdleConnections(t *testing.T) {
	tokFile := writeToken(t, t.TempDir(), 0o600, "0123456789abcdef0123456789abcdef")
	_, maddr, _, _ := startMetricsServe(t, "--admin-token-file", tokFile, "--idle-timeout", "1s")
	conn, err := net.Dial("tcp", maddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	// One unauthenticated request, then the connection idles.
	if _, err := io.WriteString(conn, "POST /admin/freeze HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unauthenticated POST: %d", resp.StatusCode)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = br.ReadByte()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("an idle, unauthenticated keep-alive connection to the admin/metrics listener is still open 5 s after its request, with idle_timeout 1s")
	}
}
