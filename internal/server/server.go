// Package server answers TSS Node callbacks over HTTP.
//
// It is the transport around the decision pipeline (package gate): it caps
// the body, parses the form, hands the token to gate.Check, signs the
// Outcome as the reply, writes the one log line per decision, and serves
// the operator endpoints (/ping, /healthz, /readyz). Every rule about what
// a request means, when it is answered from the record and when it counts
// against a limit lives in gate; server imports neither policy nor cel-go.
//
// Every request to a check endpoint gets HTTP 200 with a signed
// CallbackResponse, whatever went wrong: a node that gets no answer retries
// and then rejects, so an unsigned error helps nobody, and a signed one
// says why. The only exception is a failure to sign at all, which is
// answered with an unsigned HTTP 500 that no node can mistake for an
// approval.
//
// Fail closed: only an Outcome with status 0 + APPROVE is signed as an
// APPROVE (reply forces everything else to REJECT), and a panic anywhere
// in the handler is a signed status 30. Every text a reply carries passes
// text.Clean first. ConnLimiter bounds open connections, displacing the
// longest-idle one when full.
package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"tssgate/internal/decision"
	"tssgate/internal/gate"
	"tssgate/internal/protocol"
	"tssgate/internal/store"
	"tssgate/internal/token"
)

// Defaults for Config fields left zero.
const (
	DefaultMaxBodyBytes  = 1 << 20
	DefaultDecideTimeout = gate.DefaultDecideTimeout
	DefaultServiceName   = "callback-server"
	DefaultReplayMaxAge  = gate.DefaultReplayMaxAge
)

// Config configures a Server. Verifier and Signer are required; everything
// else has a default. The fields from Verifier to ReplayMaxAge, Debug and
// Now configure the pipeline (see gate.Config, which documents them
// fully); the rest are the transport's.
type Config struct {
	// Verifier checks request tokens against the configured TSS Node keys.
	// A Verifier with an empty key set is allowed: every check is then
	// answered with status 20.
	Verifier *token.Verifier
	// Signer signs replies with the callback server's private key.
	Signer *token.Signer
	// Decider decides decoded requests; nil means decision.Default.
	Decider decision.Decider
	// VerifyTx checks a KEYSIGN's unsigned transaction against its
	// msg_hash_list and description; its result goes to the Decider on
	// Request.Verification. nil means no verification, which a policy
	// treats as unverified (and so, by default, rejects).
	VerifyTx protocol.TxVerifier
	// Store records every decision before it is signed, answers retries
	// of a request_id with the recorded decision, and enforces velocity
	// limits atomically with the record. nil means decisions live only in
	// the log line: no idempotency, and an approval that carries limits is
	// answered with status 30 instead of being signed.
	Store store.Store
	// Logger receives one line per decision; nil means slog.Default().
	Logger *slog.Logger
	// ServiceName is reported by GET /ping.
	ServiceName string
	// MaxBodyBytes caps a request body; larger bodies are answered with
	// status 10. Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// DecideTimeout bounds one decision. Zero means DefaultDecideTimeout.
	DecideTimeout time.Duration
	// ReplayMaxAge bounds how old a recorded APPROVE may be and still be
	// re-signed for a retry of its request_id. A TSS Node retries within
	// about a minute; an approval asked for again much later is answered
	// REJECT instead of signed again. Zero means DefaultReplayMaxAge.
	ReplayMaxAge time.Duration
	// Debug logs decoded request payloads at debug level. Payloads can hold
	// business data, so this is off by default.
	Debug bool
	// Now is the one clock of the pipeline and of /ping: received time,
	// the policy's `now`, replay age and limit windows. nil means time.Now.
	Now func() time.Time
	// Observer, when set, is told of every reply to a check endpoint once
	// it is written (or failed to be), invalid and unauthenticated ones
	// included: the seam for metrics. nil observes nothing.
	Observer Observer
}

// Observer watches the replies of a Server. ObserveReply runs on the
// request's goroutine after the reply, with the final Outcome (which it
// must not keep or change) and the handler's elapsed time; it must be
// quick and safe for concurrent use.
type Observer interface {
	ObserveReply(o *gate.Outcome, latency time.Duration)
}

// Server is the http.Handler that serves the callback protocol and the
// operator endpoints. It is safe for concurrent use.
type Server struct {
	cfg  Config
	log  *slog.Logger
	gate *gate.Gate
	mux  *http.ServeMux

	mu      sync.Mutex
	checks  []readiness
	details []detail
}

type detail struct {
	name  string
	value func() any
}

type readiness struct {
	name  string
	check func() error
}

// New validates cfg and returns a Server. It returns an error if Verifier or
// Signer is missing.
func New(cfg Config) (*Server, error) {
	if cfg.Verifier == nil {
		return nil, errors.New("server: Config.Verifier is required")
	}
	if cfg.Signer.SigningKey() == nil {
		return nil, errors.New("server: Config.Signer with a key is required")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.ServiceName == "" {
		cfg.ServiceName = DefaultServiceName
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	g, err := gate.New(gate.Config{
		Verifier:      cfg.Verifier,
		Decider:       cfg.Decider,
		VerifyTx:      cfg.VerifyTx,
		Store:         cfg.Store,
		Logger:        s.log,
		DecideTimeout: cfg.DecideTimeout,
		ReplayMaxAge:  cfg.ReplayMaxAge,
		Debug:         cfg.Debug,
		Now:           cfg.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.gate = g
	s.AddReadinessCheck("tss_node_keys", func() error {
		if cfg.Verifier.KeySet().Len() == 0 {
			return errors.New("no TSS Node public key configured: every check is answered with status 20")
		}
		return nil
	})
	s.mux = http.NewServeMux()
	// The check endpoints take every method so that even a wrong method gets
	// a signed answer rather than a bare 405.
	s.mux.Handle(protocol.PathV1, s.checkHandler(protocol.V1))
	s.mux.Handle(protocol.PathV2, s.checkHandler(protocol.V2))
	s.mux.HandleFunc("GET /ping", s.handlePing)
	s.mux.HandleFunc("GET /healthz", s.handleHealthz)
	s.mux.HandleFunc("GET /readyz", s.handleReadyz)
	return s, nil
}

// AddReadinessCheck registers a check that GET /readyz runs; a non-nil error
// makes the server report not ready, with the error's text.
func (s *Server) AddReadinessCheck(name string, check func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks = append(s.checks, readiness{name, check})
}

// AddReadinessDetail registers a value GET /readyz reports under name,
// beside "ready" (when a TSS Node key last verified a request, say); it
// does not affect readiness.
func (s *Server) AddReadinessDetail(name string, value func() any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.details = append(s.details, detail{name, value})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

func (s *Server) checkHandler(v protocol.Version) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		o := gate.Outcome{Version: v}
		written := false
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("panic while answering a check",
					slog.String("version", string(v)),
					slog.Any("panic", p),
					slog.String("stack", string(debug.Stack())))
				o.Fail(protocol.StatusInternalError, "internal error")
				if !written {
					written = true
					s.reply(w, &o)
				}
			}
			latency := time.Since(start)
			s.logDecision(r.Context(), &o, latency)
			if s.cfg.Observer != nil {
				s.cfg.Observer.ObserveReply(&o, latency)
			}
		}()
		o = s.check(w, r, v)
		written = true
		s.reply(w, &o)
	})
}

// check reads the token from the request and runs the pipeline on it. It
// never writes to w except through http.MaxBytesReader's connection
// handling.
func (s *Server) check(w http.ResponseWriter, r *http.Request, v protocol.Version) gate.Outcome {
	if r.Method != http.MethodPost {
		o := gate.Outcome{Version: v}
		o.Fail(protocol.StatusInvalidRequest, fmt.Sprintf("method %s not allowed: use POST", r.Method))
		return o
	}
	tok, status, reason := s.readToken(w, r)
	if status != protocol.StatusOK {
		o := gate.Outcome{Version: v}
		o.Fail(status, reason)
		return o
	}
	return s.gate.Check(r.Context(), v, tok)
}

// readToken extracts the single TSS_JWT_MSG field from a capped form body.
// Every problem with the envelope around the token is an invalid request.
func (s *Server) readToken(w http.ResponseWriter, r *http.Request) (string, protocol.Status, string) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return "", protocol.StatusInvalidRequest, "content type must be application/x-www-form-urlencoded"
		}
	}
	// The body is read into a pooled buffer, taken only once the first
	// bytes have arrived and grown only with the bytes that arrive (a
	// buffer sized by the declared Content-Length, or taken before
	// anything came, would let a sender that declares a length and sends
	// nothing make each connection hold it); everything returned below is
	// a copy, so the buffer goes back to the pool when readToken returns.
	br := http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	var first [512]byte
	n, err := br.Read(first[:])
	bp := bodyPool.Get().(*[]byte)
	defer putBody(bp)
	body := append((*bp)[:0], first[:n]...)
	switch err {
	case nil:
		body, err = readAll(br, body)
	case io.EOF:
		err = nil
	}
	*bp = body
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return "", protocol.StatusInvalidRequest, fmt.Sprintf("request body exceeds %d bytes", s.cfg.MaxBodyBytes)
		}
		return "", protocol.StatusInvalidRequest, "could not read request body"
	}
	if len(body) == 0 {
		return "", protocol.StatusInvalidRequest, "empty request body"
	}
	if tok, ok := plainForm(body); ok {
		return tok, protocol.StatusOK, ""
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "", protocol.StatusInvalidRequest, "request body is not a valid form"
	}
	values := form[protocol.FormField]
	switch len(values) {
	case 0:
		return "", protocol.StatusInvalidRequest, "form field " + protocol.FormField + " missing"
	case 1:
		return strings.TrimSpace(values[0]), protocol.StatusOK, ""
	default:
		return "", protocol.StatusInvalidRequest, fmt.Sprintf("form field %s given %d times", protocol.FormField, len(values))
	}
}

// bodyPool holds request-body buffers, so that a decision does not grow a
// new one from 512 bytes (io.ReadAll's start) through every size to its
// ~14 KB token. Buffers that grew past maxPooledBody are dropped instead
// of kept, so one large body does not pin its size in the pool.
var bodyPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 16<<10)
	return &b
}}

const maxPooledBody = 64 << 10

func putBody(bp *[]byte) {
	if cap(*bp) > maxPooledBody {
		return
	}
	bodyPool.Put(bp)
}

// readAll is io.ReadAll into buf's spare capacity: it appends what r
// yields until EOF and returns the grown slice, with r's first other
// error.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// plainForm returns the token of a body that is exactly
// TSS_JWT_MSG=<token> with a token of base64url characters and dots, as
// every TSS Node sends it: no character of such a body is special to form
// encoding, so url.ParseQuery would return exactly this one value, and it
// is read without it. Any other body takes the general path.
func plainForm(body []byte) (string, bool) {
	tok, ok := bytes.CutPrefix(body, []byte(protocol.FormField+"="))
	if !ok || len(tok) == 0 {
		return "", false
	}
	for _, c := range tok {
		if !jwsChar[c] {
			return "", false
		}
	}
	return string(tok), true
}

// jwsChar reports the characters of a JWS compact serialization:
// base64url's alphabet and the dot.
var jwsChar = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") {
		t[c] = true
	}
	return t
}()

// reply signs o as a CallbackResponse and writes it. A reply can only carry
// APPROVE with status 0; anything else is forced to REJECT here, the last
// line of defence before the signature.
func (s *Server) reply(w http.ResponseWriter, o *gate.Outcome) {
	o.Clean()
	if !o.Approves() {
		o.Action = protocol.ActionReject
	}
	payload, err := json.Marshal(protocol.CallbackResponse{
		Status:    o.Status,
		RequestID: o.RequestID,
		Action:    o.Action,
		Error:     o.Reason,
	})
	var jwt string
	if err == nil {
		jwt, err = s.cfg.Signer.Sign(payload)
	}
	if err != nil {
		s.log.Error("signing reply failed", slog.String("request_id", o.RequestID), slog.Any("error", err))
		o.Fail(protocol.StatusInternalError, "signing reply failed")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, jwt)
}

func (s *Server) logDecision(ctx context.Context, o *gate.Outcome, latency time.Duration) {
	level := slog.LevelInfo
	if o.Status != protocol.StatusOK {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("request_id", o.RequestID),
		slog.String("version", string(o.Version)),
		slog.String("type", o.Type),
		slog.String("action", string(o.Action)),
		slog.Int("status", int(o.Status)),
		slog.String("reason", o.Reason),
		slog.String("rule", o.Rule),
		slog.String("policy_version", o.PolicyVersion),
		slog.String("key", o.KeyName),
		slog.Float64("latency_ms", float64(latency.Microseconds())/1000),
	}
	if len(o.Shadow) > 0 {
		// Shadow rules are recorded beside the decision they did not make.
		attrs = append(attrs, slog.Any("shadow", gate.ShadowFields(o.Shadow)))
	}
	if o.Replayed {
		attrs = append(attrs, slog.Bool("replayed", true))
	}
	s.log.LogAttrs(ctx, level, "decision", attrs...)
}

func (s *Server) handlePing(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"server":    s.cfg.ServiceName,
		"timestamp": s.gate.Now().UnixMilli(),
	})
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// Problems runs every readiness check and returns the failing ones' errors
// by check name; empty means ready. GET /readyz and the readiness metric
// both answer from it.
func (s *Server) Problems() map[string]string {
	s.mu.Lock()
	checks := append([]readiness(nil), s.checks...)
	s.mu.Unlock()
	problems := map[string]string{}
	for _, c := range checks {
		if err := c.check(); err != nil {
			problems[c.name] = err.Error()
		}
	}
	return problems
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	details := append([]detail(nil), s.details...)
	s.mu.Unlock()
	problems := s.Problems()
	body := map[string]any{"ready": len(problems) == 0}
	for _, d := range details {
		body[d.name] = d.value()
	}
	if len(problems) > 0 {
		body["problems"] = problems
		writeJSON(w, http.StatusServiceUnavailable, body)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
