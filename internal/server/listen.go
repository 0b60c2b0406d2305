package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Timeouts bound how long a client may hold a connection. A TSS Node sends
// a small form and waits at most request_timeout (10 s by default) for the
// answer, so seconds, not minutes, are right: a slow or stalled client must
// not pin a goroutine.
type Timeouts struct {
	ReadHeader time.Duration
	Read       time.Duration
	Write      time.Duration
	Idle       time.Duration
	// Shutdown is how long in-flight requests may take to finish after
	// SIGINT/SIGTERM.
	Shutdown time.Duration
}

// DefaultTimeouts returns the timeouts tssgate serves with. Write exceeds
// DefaultDecideTimeout so that a decision that runs out of time can still be
// answered.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		ReadHeader: 5 * time.Second,
		Read:       10 * time.Second,
		Write:      15 * time.Second,
		Idle:       60 * time.Second,
		Shutdown:   15 * time.Second,
	}
}

// NewHTTPServer wraps h in an http.Server with the given timeouts and a
// 64 KiB header cap. Zero timeouts take DefaultTimeouts' values.
func NewHTTPServer(h http.Handler, t Timeouts) *http.Server {
	t = t.withDefaults()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
	}
}

func (t Timeouts) withDefaults() Timeouts {
	d := DefaultTimeouts()
	if t.ReadHeader <= 0 {
		t.ReadHeader = d.ReadHeader
	}
	if t.Read <= 0 {
		t.Read = d.Read
	}
	if t.Write <= 0 {
		t.Write = d.Write
	}
	if t.Idle <= 0 {
		t.Idle = d.Idle
	}
	if t.Shutdown <= 0 {
		t.Shutdown = d.Shutdown
	}
	return t
}

// Serve runs srv on ln until ctx is done, then shuts down gracefully:
// the listener closes at once and in-flight requests get up to
// shutdownTimeout to finish. With certFile and keyFile set it serves TLS.
// It returns nil after a clean shutdown.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, certFile, keyFile string, shutdownTimeout time.Duration) error {
	if shutdownTimeout <= 0 {
		shutdownTimeout = DefaultTimeouts().Shutdown
	}
	errc := make(chan error, 1)
	go func() {
		if certFile != "" || keyFile != "" {
			errc <- srv.ServeTLS(ln, certFile, keyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	return nil
}
