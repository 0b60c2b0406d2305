package simulate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"syscall"
	"time"
)

// DefaultWait is how long `tssgate simulate` waits, by default, for its key
// files and the server to appear. `tssgate serve --dev &` followed at once
// by `tssgate simulate` must work: on a fresh data folder the server first
// generates two RSA key pairs and opens its store, which takes a second or
// two on a slow or busy machine.
const DefaultWait = 5 * time.Second

// pollInterval is the pause between two attempts while waiting.
const pollInterval = 50 * time.Millisecond

// NotReadyError reports what did not appear within the wait, so a caller
// can say precisely what is missing instead of a bare "no such file" or
// "connection refused".
type NotReadyError struct {
	// What names the missing thing for a human, e.g. "the TSS Node key
	// file" or "the server at".
	What string
	// Where is the file path, or the host:port that refused connections.
	Where string
	// Waited is how long the caller waited.
	Waited time.Duration
	// Err is the last attempt's error.
	Err error
}

// Error says what is missing, where, and for how long it was awaited.
func (e *NotReadyError) Error() string {
	if e.Where == "" {
		return fmt.Sprintf("%s is not there after waiting %s: %v", e.What, e.Waited, e.Err)
	}
	return fmt.Sprintf("%s %s is not there after waiting %s: %v", e.What, e.Where, e.Waited, e.Err)
}

// Unwrap returns the last attempt's error.
func (e *NotReadyError) Unwrap() error { return e.Err }

// WaitForFile calls load(path) until it succeeds or wait has passed, and
// returns what load returned. Only a file that is not there yet, or that
// is still empty (created but not yet written, as token.GenerateKeyPair
// does), is waited for: any other error is returned at once, so a wrong
// file is reported without delay. When the wait runs out the error is a
// *NotReadyError naming what (e.g. "the TSS Node key file") and path. A
// wait of 0 tries once. ctx ends the wait early with ctx's error.
func WaitForFile[T any](ctx context.Context, wait time.Duration, what, path string, load func(string) (T, error)) (T, error) {
	deadline := time.Now().Add(wait)
	for {
		v, err := load(path)
		if err == nil {
			return v, nil
		}
		if !fileNotReady(path, err) {
			return v, err
		}
		if !time.Now().Before(deadline) {
			var zero T
			return zero, &NotReadyError{What: what, Where: path, Waited: wait, Err: err}
		}
		if err := pause(ctx, deadline); err != nil {
			var zero T
			return zero, err
		}
	}
}

// fileNotReady reports whether load's error means the file is not written
// yet: it does not exist, or it exists and is empty.
func fileNotReady(path string, err error) bool {
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	fi, statErr := os.Stat(path)
	if statErr != nil {
		return errors.Is(statErr, fs.ErrNotExist)
	}
	return fi.Mode().IsRegular() && fi.Size() == 0
}

// WaitForServer dials the host and port of baseURL (http or https) until a
// TCP connection is accepted or wait has passed. Only a refused connection
// (nothing listens there yet) is retried; any other dial error (an unknown
// host, an unreachable network) is returned at once. When the wait runs
// out the error is a *NotReadyError naming the address. A wait of 0 tries
// once. It proves only that something accepts connections; the request
// that follows proves it is a callback server.
func WaitForServer(ctx context.Context, wait time.Duration, baseURL string) error {
	addr, err := dialAddress(baseURL)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(wait)
	for {
		// Each attempt is bounded too: a port that drops packets must not
		// stretch the wait past its bound.
		timeout := max(time.Until(deadline), time.Second)
		d := net.Dialer{Timeout: timeout}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return conn.Close()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("connecting to %s: %w", addr, err)
		}
		if !time.Now().Before(deadline) {
			return &NotReadyError{What: "the server at", Where: addr, Waited: wait, Err: err}
		}
		if err := pause(ctx, deadline); err != nil {
			return err
		}
	}
}

// dialAddress is the host:port a base URL connects to.
func dialAddress(baseURL string) (string, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return "", fmt.Errorf("base URL %q: %w", baseURL, err)
	}
	port := u.Port()
	switch u.Scheme {
	case "http":
		if port == "" {
			port = "80"
		}
	case "https":
		if port == "" {
			port = "443"
		}
	default:
		return "", fmt.Errorf("base URL %q: scheme must be http or https", baseURL)
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("base URL %q: no host", baseURL)
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// pause sleeps one poll interval, never past deadline, or until ctx ends.
func pause(ctx context.Context, deadline time.Time) error {
	d := min(pollInterval, time.Until(deadline))
	if d < 0 {
		d = 0
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
