package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"tssgate/internal/policy"
	"tssgate/internal/protocol"
)

// limitedServer runs the real Server behind a ConnLimiter of max on
// 127.0.0.1:0 and returns its address and the limiter. mod adjusts the
// Config as in newTestServer.
func limitedServer(t *testing.T, max int, mod func(*Config)) (string, *ConnLimiter) {
	t.Helper()
	ts := newTestServer(t, mod) // reuses the key and config setup
	ts.Close()                  // only its handler is needed
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewHTTPServer(ts.Config.Handler, Timeouts{})
	lim := LimitConnections(srv, ln, max)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, srv, lim, "", "", time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String(), lim
}

// rawConn is a client connection driven by hand, so a test decides when
// it is idle, silent or busy.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{Conn: c, r: bufio.NewReader(c)}
}

// check sends one keep-alive check request on c and returns the verified
// reply, or the error reading it.
func (c *rawConn) check(t *testing.T, id string) (*protocol.CallbackResponse, error) {
	t.Helper()
	body := formBody(goodToken(t, map[string]any{"request_id": id, "request_type": 0}))
	if _, err := fmt.Fprintf(c, "POST /v2/check HTTP/1.1\r\nHost: tssgate\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s", form, len(body), body); err != nil {
		return nil, err
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return verifyReply(t, raw), nil
}

// isClosed reports whether the server has closed c.
func (c *rawConn) isClosed() bool {
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := c.r.ReadByte()
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)
}

// waitOpen waits until the limiter holds n connections.
func waitOpen(t *testing.T, lim *ConnLimiter, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for lim.Open() != n {
		if time.Now().After(deadline) {
			t.Fatalf("limiter holds %d connections, want %d", lim.Open(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Finding 12: with the cap full of idle keep-alive connections, a new
// connection still gets a signed reply; the idlest connection is closed to
// make room, and the server never holds more than the cap.
func TestConnectionCapServesNewRequestWhenFullOfIdle(t *testing.T) {
	const max = 4
	addr, lim := limitedServer(t, max, nil)
	idle := make([]*rawConn, max)
	for i := range idle {
		idle[i] = dial(t, addr)
		if r, err := idle[i].check(t, fmt.Sprintf("idle-%d", i)); err != nil || !r.Approves() {
			t.Fatalf("idle %d: %+v, %v", i, r, err)
		}
		time.Sleep(10 * time.Millisecond) // distinct idle times
	}
	waitOpen(t, lim, max)

	fresh := dial(t, addr)
	r, err := fresh.check(t, "fresh")
	if err != nil || !r.Approves() || r.RequestID != "fresh" {
		t.Fatalf("new request with the cap full of idle connections: %+v, %v", r, err)
	}
	if !idle[0].isClosed() {
		t.Errorf("the idlest connection was not closed")
	}
	// The others are still usable.
	if r, err := idle[max-1].check(t, "again"); err != nil || !r.Approves() {
		t.Errorf("a recent idle connection was closed too: %+v, %v", r, err)
	}
	if lim.peak > max {
		t.Fatalf("%d connections open at once, cap %d", lim.peak, max)
	}
}

// Silent connections (accepted, no request) are displaceable too, so
// opening connections and sending nothing cannot lock a TSS Node out.
func TestConnectionCapServesNewRequestWhenFullOfSilent(t *testing.T) {
	const max = 3
	addr, lim := limitedServer(t, max, nil)
	for range max + 5 {
		dial(t, addr)
	}
	r, err := dial(t, addr).check(t, "fresh")
	if err != nil || !r.Approves() {
		t.Fatalf("new request with the cap full of silent connections: %+v, %v", r, err)
	}
	if lim.peak > max {
		t.Fatalf("%d connections open at once, cap %d", lim.peak, max)
	}
}

// blockingDecider holds every decision until release is closed.
type blockingDecider struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingDecider) Decide(ctx context.Context, r *protocol.Request) (policy.Decision, error) {
	b.entered <- struct{}{}
	<-b.release
	return policy.Default{}.Decide(ctx, r)
}

// When every connection is busy, a new one waits for a free slot instead
// of exceeding the cap, and is served once one frees.
func TestConnectionCapWaitsWhenAllBusy(t *testing.T) {
	const max = 2
	dec := &blockingDecider{entered: make(chan struct{}, 10), release: make(chan struct{})}
	addr, lim := limitedServer(t, max, func(c *Config) { c.Decider = dec })
	type result struct {
		r   *protocol.CallbackResponse
		err error
	}
	results := make(chan result, max+1)
	send := func(id string) {
		c := dial(t, addr)
		go func() {
			r, err := c.check(t, id)
			if err != nil {
				err = fmt.Errorf("%s: %w", id, err)
			}
			results <- result{r, err}
		}()
	}
	for i := range max {
		send(fmt.Sprintf("busy-%d", i))
		<-dec.entered
	}
	send("late")
	select {
	case <-dec.entered:
		t.Fatal("a request beyond the cap was accepted while every connection was busy")
	case <-time.After(300 * time.Millisecond):
	}
	if n := lim.Open(); n != max {
		t.Fatalf("%d connections open, cap %d", n, max)
	}
	close(dec.release)
	for range max + 1 {
		res := <-results
		if res.err != nil || !res.r.Approves() {
			t.Fatalf("reply %+v, %v", res.r, res.err)
		}
	}
	if lim.peak > max {
		t.Fatalf("%d connections open at once, cap %d", lim.peak, max)
	}
}
