package server

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"
)

// DefaultMaxConnections is the connection cap when none is configured. A
// TSS Node fleet holds a handful of connections; the cap exists so that
// idle or silent connections from anyone who can reach the port cannot
// exhaust the process's file descriptors (a default soft limit is often
// 1024) and starve the decision store of its own.
const DefaultMaxConnections = 256

// PendingTimeout bounds how long an accepted connection waits for a slot
// when every connection is busy (see ConnLimiter). A TSS Node waits 10 s
// for an answer by default.
const PendingTimeout = 10 * time.Second

// ConnLimiter is a net.Listener that keeps at most a fixed number of
// accepted connections open, whatever clients do.
//
// Every connection is in one of two classes, kept current by the
// http.Server's ConnState hook (see LimitConnections):
//   - busy: a request is being read or answered (http.StateActive);
//   - waiting: accepted but no request yet (http.StateNew), or a keep-alive
//     connection between requests (http.StateIdle).
//
// When a new connection arrives while the cap is full, the connection that
// has been waiting longest is closed to make room, so a TSS Node with a
// request is served even when the cap is full of idle keep-alive or silent
// connections. When every connection is busy, Accept waits (new connections
// queue in the kernel's accept backlog, holding no descriptor of this
// process) until one closes or becomes idle. A connection can arrive just
// as the last waiting one turns busy; it is then held, accepted but not yet
// served and not counted, until a slot frees or a connection becomes
// displaceable, for at most PendingTimeout, after which it is closed
// (refused; its client retries). So the process holds at most the cap plus
// that one pending connection, and the server at most the cap.
type ConnLimiter struct {
	net.Listener
	max int

	mu     sync.Mutex
	cond   *sync.Cond
	conns  map[*limitedConn]struct{}
	closed bool
	peak   int // most connections open at once, for tests
}

// NewConnLimiter wraps ln with a cap of max open connections; max <= 0
// means DefaultMaxConnections. The limiter only knows which connections are
// waiting if it gets the http.Server's ConnState events: use
// LimitConnections, or call ConnState from the server's hook.
func NewConnLimiter(ln net.Listener, max int) *ConnLimiter {
	if max <= 0 {
		max = DefaultMaxConnections
	}
	l := &ConnLimiter{Listener: ln, max: max, conns: map[*limitedConn]struct{}{}}
	l.cond = sync.NewCond(&l.mu)
	return l
}

// LimitConnections wraps ln in a ConnLimiter of max connections and hooks
// it into srv.ConnState (keeping any hook already there). Serve srv on the
// returned listener.
func LimitConnections(srv *http.Server, ln net.Listener, max int) *ConnLimiter {
	l := NewConnLimiter(ln, max)
	prev := srv.ConnState
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		l.ConnState(c, s)
		if prev != nil {
			prev(c, s)
		}
	}
	return l
}

// limitedConn is an accepted connection the limiter tracks.
type limitedConn struct {
	net.Conn
	l    *ConnLimiter
	once sync.Once
	// Guarded by l.mu.
	busy  bool
	since time.Time // when it last started waiting
}

// Close closes the connection and frees its slot.
func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c) })
	return err
}

// Accept waits for a free slot or a waiting connection to displace,
// accepts the next connection, and makes room for it by closing the
// longest-waiting connection if the cap is full. See ConnLimiter.
func (l *ConnLimiter) Accept() (net.Conn, error) {
	for {
		l.mu.Lock()
		for !l.closed && len(l.conns) >= l.max && l.oldestWaiting() == nil {
			l.cond.Wait()
		}
		closed := l.closed
		l.mu.Unlock()
		if closed {
			return nil, net.ErrClosed
		}
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		lc := &limitedConn{Conn: c, l: l, since: time.Now()}
		l.mu.Lock()
		if len(l.conns) >= l.max && l.oldestWaiting() == nil {
			l.awaitRoom()
		}
		var evict *limitedConn
		if len(l.conns) >= l.max {
			evict = l.oldestWaiting()
			if evict == nil {
				// Still no room (timed out, or closing): refuse this one
				// rather than exceed the cap.
				l.mu.Unlock()
				c.Close()
				continue
			}
			// Free the slot now, so the count never exceeds the cap; the
			// close below then finds nothing more to release.
			delete(l.conns, evict)
			evict.once.Do(func() {})
		}
		l.conns[lc] = struct{}{}
		l.peak = max(l.peak, len(l.conns))
		l.mu.Unlock()
		if evict != nil {
			evict.Conn.Close()
		}
		return lc, nil
	}
}

// awaitRoom waits, for at most PendingTimeout, until a slot is free or a
// connection is displaceable, or the limiter closes. l.mu must be held.
func (l *ConnLimiter) awaitRoom() {
	expired := false
	timer := time.AfterFunc(PendingTimeout, func() {
		l.mu.Lock()
		expired = true
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	defer timer.Stop()
	for !l.closed && !expired && len(l.conns) >= l.max && l.oldestWaiting() == nil {
		l.cond.Wait()
	}
}

// oldestWaiting returns the tracked connection that has waited longest, or
// nil if every one is busy. l.mu must be held. A linear scan: the cap is
// small and this runs only when it is full.
func (l *ConnLimiter) oldestWaiting() *limitedConn {
	var oldest *limitedConn
	for c := range l.conns {
		if !c.busy && (oldest == nil || c.since.Before(oldest.since)) {
			oldest = c
		}
	}
	return oldest
}

// ConnState records what the http.Server says about a connection: Active
// makes it busy, New and Idle make it waiting (and so displaceable), and
// Hijacked or Closed connections are released when they close.
func (l *ConnLimiter) ConnState(c net.Conn, s http.ConnState) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	lc, ok := c.(*limitedConn)
	if !ok || lc.l != l {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, tracked := l.conns[lc]; !tracked {
		return
	}
	switch s {
	case http.StateActive:
		lc.busy = true
	case http.StateNew, http.StateIdle:
		lc.busy = false
		lc.since = time.Now()
		l.cond.Broadcast() // a waiting connection can now be displaced
	case http.StateHijacked:
		// Not ours to manage any more, but it holds its slot until closed.
		lc.busy = true
	}
}

// release frees c's slot.
func (l *ConnLimiter) release(c *limitedConn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.cond.Broadcast()
	l.mu.Unlock()
}

// Open returns the number of connections currently open.
func (l *ConnLimiter) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// Close closes the listener and wakes an Accept waiting for a slot. Open
// connections are left to the http.Server's shutdown.
func (l *ConnLimiter) Close() error {
	l.mu.Lock()
	l.closed = true
	l.cond.Broadcast()
	l.mu.Unlock()
	return l.Listener.Close()
}
