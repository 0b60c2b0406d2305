package simulate

import (
	"context"
	"crypto/rsa"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tssgate/internal/protocol"
	"tssgate/internal/testkit"
	"tssgate/internal/token"
)

// reserveAddr returns a loopback host:port on which nothing listens now but
// a test can listen later.
func reserveAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("closing listener: %v", err)
	}
	return addr
}

// listenLater starts listening on addr after delay, from another
// goroutine, and delivers the listener (or the error) on the channel.
func listenLater(t *testing.T, addr string, delay time.Duration) <-chan net.Listener {
	t.Helper()
	ch := make(chan net.Listener, 1)
	errc := make(chan error, 1)
	go func() {
		time.Sleep(delay) // the server appears later; no timing is asserted
		l, err := net.Listen("tcp", addr)
		if err != nil {
			errc <- err
			close(ch)
			return
		}
		ch <- l
	}()
	t.Cleanup(func() {
		select {
		case err := <-errc:
			t.Errorf("listening on %s later: %v", addr, err)
		default:
		}
	})
	return ch
}

// A server that starts while simulate waits is found, and the check that
// follows gets its verified answer.
func TestWaitForServerThatStartsLater(t *testing.T) {
	addr := reserveAddr(t)
	later := listenLater(t, addr, 300*time.Millisecond)
	base := "http://" + addr
	if err := WaitForServer(context.Background(), 30*time.Second, base); err != nil {
		t.Fatalf("WaitForServer: %v", err)
	}
	ln, ok := <-later
	if !ok {
		t.Fatal("the delayed listener was not created")
	}
	k := loadKeys(t)
	f := &fakeServer{
		t:        t,
		verifier: newVerifier(t, "tss-node", k.nodePub),
		signer:   &token.Signer{Key: k.server, Issuer: "callback-server", TTL: 2 * time.Minute},
		choose:   always(replySpec{}),
	}
	f.Server = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(f.handle)}}
	f.Server.Start()
	t.Cleanup(f.Server.Close)

	res, err := newNode(t, base).Check(context.Background(), protocol.V2, mustRequest(t, protocol.V2, protocol.TypePing))
	if err != nil {
		t.Fatalf("Check after the wait: %v", err)
	}
	if got := ExitCode(res.Response, nil); got != 0 {
		t.Fatalf("exit code %d, want 0 (APPROVE)", got)
	}
}

func TestWaitForServerErrors(t *testing.T) {
	refused := refusedURL(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		wait     time.Duration
		baseURL  string
		notReady bool   // a *NotReadyError wrapping ECONNREFUSED
		want     string // substring of the error
		wantErr  error  // errors.Is target, when set
	}{
		{name: "nothing listens", ctx: context.Background(), wait: 200 * time.Millisecond, baseURL: refused,
			notReady: true, want: "the server at " + strings.TrimPrefix(refused, "http://") + " is not there after waiting 200ms"},
		{name: "no wait tries once", ctx: context.Background(), wait: 0, baseURL: refused,
			notReady: true, want: "is not there after waiting 0s"},
		{name: "cancelled", ctx: cancelled, wait: time.Minute, baseURL: refused, wantErr: context.Canceled},
		{name: "not http", ctx: context.Background(), wait: time.Second, baseURL: "ftp://127.0.0.1:1", want: "scheme must be http or https"},
		{name: "no host", ctx: context.Background(), wait: time.Second, baseURL: "http://", want: "no host"},
		{name: "unparsable", ctx: context.Background(), wait: time.Second, baseURL: "http://[::1", want: `base URL "http://[::1"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := WaitForServer(tc.ctx, tc.wait, tc.baseURL)
			if err == nil {
				t.Fatal("WaitForServer succeeded")
			}
			var nr *NotReadyError
			if got := errors.As(err, &nr); got != tc.notReady {
				t.Fatalf("NotReadyError = %v, want %v: %v", got, tc.notReady, err)
			}
			if tc.notReady && !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("error does not wrap ECONNREFUSED: %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v is not %v", err, tc.wantErr)
			}
		})
	}
}

// A key file that appears while simulate waits, first empty (created) and
// then written, is loaded.
func TestWaitForFileThatAppearsLater(t *testing.T) {
	pemData := testkit.CoboKeyPEM(t, testkit.NodePrivateKeyFile)
	path := filepath.Join(t.TempDir(), "dev-tss-node", "tss-node-callback-pri.pem")
	written := make(chan error, 1)
	go func() {
		// Like token.GenerateKeyPair: create the folder and the file, then
		// write it. The pauses make the waiter see each state; no timing is
		// asserted.
		time.Sleep(200 * time.Millisecond)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			written <- err
			return
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			written <- err
			return
		}
		time.Sleep(200 * time.Millisecond)
		_, err = f.Write(pemData)
		written <- errors.Join(err, f.Close())
	}()
	key, err := WaitForFile(context.Background(), 30*time.Second, "the TSS Node key file", path, token.LoadPrivateKey)
	if err != nil {
		t.Fatalf("WaitForFile: %v", err)
	}
	if err := <-written; err != nil {
		t.Fatalf("writing the key later: %v", err)
	}
	if !key.Equal(loadKeys(t).node) {
		t.Fatal("WaitForFile returned another key")
	}
}

func TestWaitForFileErrors(t *testing.T) {
	dir := t.TempDir()
	keys := testkit.WriteCoboKeys(t)
	missing := filepath.Join(dir, "missing.pem")
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		wait     time.Duration
		path     string
		notReady bool   // a *NotReadyError
		want     string // substring of the error
		wantErr  error  // errors.Is target, when set
	}{
		{name: "never appears", ctx: context.Background(), wait: 200 * time.Millisecond, path: missing, notReady: true,
			want: "the TSS Node key file " + missing + " is not there after waiting 200ms", wantErr: fs.ErrNotExist},
		{name: "stays empty", ctx: context.Background(), wait: 200 * time.Millisecond, path: empty, notReady: true,
			want: "the TSS Node key file " + empty + " is not there after waiting 200ms"},
		// A wrong file is reported at once: waiting would not fix it. With a
		// minute to wait, a NotReadyError here would mean it was retried.
		{name: "public key where the private key belongs", ctx: context.Background(), wait: time.Minute,
			path: filepath.Join(keys, testkit.NodePublicKeyFile), want: testkit.NodePublicKeyFile},
		{name: "cancelled", ctx: cancelled, wait: time.Minute, path: missing, wantErr: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, err := WaitForFile(tc.ctx, tc.wait, "the TSS Node key file", tc.path, token.LoadPrivateKey)
			if err == nil {
				t.Fatal("WaitForFile succeeded")
			}
			if key != (*rsa.PrivateKey)(nil) {
				t.Error("a key came back with the error")
			}
			var nr *NotReadyError
			if got := errors.As(err, &nr); got != tc.notReady {
				t.Fatalf("NotReadyError = %v, want %v: %v", got, tc.notReady, err)
			}
			if tc.notReady && nr.Where != tc.path {
				t.Errorf("Where = %q, want %q", nr.Where, tc.path)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v is not %v", err, tc.wantErr)
			}
		})
	}
}
