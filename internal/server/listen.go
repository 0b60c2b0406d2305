package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"tssgate/internal/text"
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
// 64 KiB header cap. Zero timeouts take DefaultTimeouts' values. Its
// ErrorLog is ErrorLog(slog.Default()); the command replaces it with
// ErrorLog of its own logger, so that what net/http reports lands in the
// same structured log as every decision.
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
		ErrorLog:          ErrorLog(slog.Default()),
	}
}

// ErrorLog returns a logger for http.Server.ErrorLog that turns each line
// net/http writes into a record of l, instead of a plain line on Go's
// standard logger that a log pipeline reading JSON cannot parse. A TLS
// handshake failure (a node with the wrong CA, a scanner, plain HTTP sent
// to the HTTPS port) is a WARN "TLS handshake failed" with the remote
// address and the error as attributes; any other line is an ERROR "http
// server" with the line as its error. The texts are cleaned (text.Clean)
// because a client can influence them. A nil l means slog.Default().
func ErrorLog(l *slog.Logger) *log.Logger {
	if l == nil {
		l = slog.Default()
	}
	return log.New(httpErrorWriter{l}, "", 0)
}

// maxHTTPErrorBytes bounds one net/http error text in the log.
const maxHTTPErrorBytes = 1024

// httpErrorWriter receives one net/http error line per Write (log.Logger
// writes each message whole).
type httpErrorWriter struct{ l *slog.Logger }

func (w httpErrorWriter) Write(p []byte) (int, error) {
	line := strings.TrimRight(string(p), "\n")
	// net/http: "http: TLS handshake error from %s: %v"; the address
	// (host:port, [v6]:port) holds no ": ".
	if rest, ok := strings.CutPrefix(line, "http: TLS handshake error from "); ok {
		remote, reason, _ := strings.Cut(rest, ": ")
		w.l.LogAttrs(context.Background(), slog.LevelWarn, "TLS handshake failed",
			slog.String("remote", text.Clean(remote, maxHTTPErrorBytes)),
			slog.String("error", text.Clean(reason, maxHTTPErrorBytes)))
		return len(p), nil
	}
	w.l.LogAttrs(context.Background(), slog.LevelError, "http server",
		slog.String("error", text.Clean(strings.TrimPrefix(line, "http: "), maxHTTPErrorBytes)))
	return len(p), nil
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
// shutdownTimeout to finish. With certFile and keyFile set it serves TLS;
// so it does, with no files, when srv.TLSConfig has a GetCertificate (a
// certificate that a reload can swap). It returns nil after a clean
// shutdown.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, certFile, keyFile string, shutdownTimeout time.Duration) error {
	if shutdownTimeout <= 0 {
		shutdownTimeout = DefaultTimeouts().Shutdown
	}
	errc := make(chan error, 1)
	go func() {
		if certFile != "" || keyFile != "" || (srv.TLSConfig != nil && srv.TLSConfig.GetCertificate != nil) {
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
