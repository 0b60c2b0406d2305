package storetest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// CommitFault says what a Proxy does to the next COMMIT it sees.
type CommitFault int

// The faults a Proxy can inject into one COMMIT.
const (
	// PassCommit forwards COMMIT as any other message.
	PassCommit CommitFault = iota
	// DropBeforeCommit closes both sides of the connection instead of
	// forwarding COMMIT: the client has sent it and hears nothing, and the
	// server rolls the transaction back when its client goes away.
	DropBeforeCommit
	// DropAfterCommit forwards COMMIT and closes both sides as soon as the
	// server answers, before the client hears it: the transaction is
	// committed, and the client cannot know.
	DropAfterCommit
	// DropAfterCommitThenDown is DropAfterCommit, after which the proxy is
	// down (see SetDown): reading the row back fails too.
	DropAfterCommitThenDown
)

// Proxy is a TCP proxy in front of PostgreSQL that can break a connection
// at the moment a test needs: around a COMMIT, or all of them at once. It
// reads the client's protocol messages (without TLS; DSN forces
// sslmode=disable) to recognise COMMIT: a simple-protocol Query whose text
// is "commit" (pgx's Tx.Commit), or the Bind of a statement prepared as
// COMMIT (a pipeline, as Store.Commit sends it). It is for tests only.
type Proxy struct {
	target string
	ln     net.Listener

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	down  bool
	fault CommitFault // for the next COMMIT; reset when it fires
}

// StartProxy listens on a free loopback port and forwards every connection
// to target (host:port) until the test ends.
func StartProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	go p.accept()
	tb.Cleanup(func() {
		ln.Close()
		p.SetDown(true)
	})
	return p
}

// ProxyPostgres starts a Proxy in front of the server dsn (a postgres://
// URL) names and returns it with dsn rewritten to go through it.
func ProxyPostgres(tb testing.TB, dsn string) (*Proxy, string) {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		tb.Fatalf("ProxyPostgres needs a postgres:// URL with a host, got %q (%v)", dsn, err)
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	p := StartProxy(tb, target)
	u.Host = p.ln.Addr().String()
	q := u.Query()
	q.Set("sslmode", "disable")
	u.RawQuery = q.Encode()
	return p, u.String()
}

// FailNextCommit arms f for the next COMMIT on any connection.
func (p *Proxy) FailNextCommit(f CommitFault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = f
}

// SetDown with true closes every proxied connection and makes new ones
// fail at once (accepted and closed), as a stopped or unreachable database
// would; with false the proxy forwards again.
func (p *Proxy) SetDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
	}
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.serve(c)
	}
}

// track registers c for SetDown; it reports false (and closes c) when the
// proxy is down.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		c.Close()
		delete(p.conns, c)
	}
}

// takeFault returns the armed fault and disarms it.
func (p *Proxy) takeFault() CommitFault {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.fault
	p.fault = PassCommit
	return f
}

func (p *Proxy) serve(client net.Conn) {
	if !p.track(client) {
		return
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil || !p.track(server) {
		p.untrack(client)
		if server != nil {
			server.Close()
		}
		return
	}
	defer p.untrack(client, server)
	var dropOnReply atomic.Int32 // a CommitFault, set just before COMMIT goes out
	done := make(chan struct{}, 2)
	go func() { // server to client
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 {
				if f := CommitFault(dropOnReply.Load()); f != PassCommit {
					// The server answered COMMIT: it has committed.
					if f == DropAfterCommitThenDown {
						p.SetDown(true)
					}
					return
				}
				if _, werr := client.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { // client to server, message by message
		defer func() { done <- struct{}{} }()
		if err := copyStartup(client, server); err != nil {
			return
		}
		// Prepared statements whose query is COMMIT, by name: pgx sends
		// COMMIT as a simple query ('Q') from Tx.Commit, or as Parse ('P')
		// once and Bind ('B') each time in a pipeline. Bind is when it
		// runs.
		commits := map[string]bool{}
		for {
			typ, msg, err := readMessage(client)
			if err != nil {
				return
			}
			commit := false
			switch typ {
			case 'Q':
				commit = isCommit(msg[5:])
			case 'P':
				if name, rest, ok := cstring(msg[5:]); ok {
					query, _, _ := cstring(rest)
					commits[name] = isCommit([]byte(query))
				}
			case 'B':
				if _, rest, ok := cstring(msg[5:]); ok { // the portal
					stmt, _, _ := cstring(rest)
					commit = commits[stmt]
				}
			}
			if commit {
				switch f := p.takeFault(); f {
				case DropBeforeCommit:
					return
				case DropAfterCommit, DropAfterCommitThenDown:
					dropOnReply.Store(int32(f))
				}
			}
			if _, err := server.Write(msg); err != nil {
				return
			}
		}
	}()
	<-done // either direction ending ends the connection
}

// copyStartup forwards the untyped startup packet, and the real one after
// an SSL or GSS encryption request (which the server declines under
// sslmode=disable; it answers 'N' on the other direction).
func copyStartup(client, server net.Conn) error {
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(client, hdr[:]); err != nil {
			return err
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		if n < 8 || n > 1<<20 {
			return errors.New("proxy: bad startup packet")
		}
		body := make([]byte, n)
		copy(body, hdr[:])
		if _, err := io.ReadFull(client, body[8:]); err != nil {
			return err
		}
		if _, err := server.Write(body); err != nil {
			return err
		}
		if code := binary.BigEndian.Uint32(hdr[4:]); code != 80877103 && code != 80877104 {
			return nil
		}
	}
}

// readMessage reads one typed frontend message and returns its type and
// its whole bytes (type, length, body).
func readMessage(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n < 4 || n > 1<<30 {
		return 0, nil, errors.New("proxy: bad message length")
	}
	msg := make([]byte, 1+n)
	copy(msg, hdr[:])
	if _, err := io.ReadFull(r, msg[5:]); err != nil {
		return 0, nil, err
	}
	return hdr[0], msg, nil
}

// cstring splits a NUL-terminated string off b.
func cstring(b []byte) (string, []byte, bool) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return "", nil, false
	}
	return string(b[:i]), b[i+1:], true
}

func isCommit(query []byte) bool {
	q := strings.TrimRight(string(query), "\x00; \t\n")
	return strings.EqualFold(strings.TrimSpace(q), "commit")
}
