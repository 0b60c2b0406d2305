// Package server answers TSS Node callbacks over HTTP.
//
// It owns the request flow of ARCHITECTURE.md: body cap and form parsing,
// token verification, decoding, the decision, and the signed reply. Every
// request to a check endpoint gets HTTP 200 with a signed CallbackResponse,
// whatever went wrong: a node that gets no answer retries and then rejects,
// so an unsigned error helps nobody, and a signed one says why. The only
// exception is a failure to sign at all, which is answered with an unsigned
// HTTP 500 that no node can mistake for an approval.
//
// Fail closed: only a complete evaluation whose Decider returns APPROVE
// yields status 0 + APPROVE; every error, timeout and panic ends in a
// non-approving reply. Every text a reply or its record carries passes
// text.Clean first, so no reason can make an evaluated decision
// unrecordable. ConnLimiter bounds open connections, displacing the
// longest-idle one when full.
package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"tssgate/internal/policy"
	"tssgate/internal/protocol"
	"tssgate/internal/store"
	"tssgate/internal/text"
	"tssgate/internal/token"
)

// Defaults for Config fields left zero.
const (
	DefaultMaxBodyBytes  = 1 << 20
	DefaultDecideTimeout = 5 * time.Second
	DefaultServiceName   = "callback-server"
	DefaultReplayMaxAge  = 15 * time.Minute
)

// Config configures a Server. Verifier and Signer are required; everything
// else has a default.
type Config struct {
	// Verifier checks request tokens against the configured TSS Node keys.
	// A Verifier with an empty key set is allowed: every check is then
	// answered with status 20.
	Verifier *token.Verifier
	// Signer signs replies with the callback server's private key.
	Signer *token.Signer
	// Decider decides decoded requests; nil means policy.Default.
	Decider policy.Decider
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
	// Now is the clock for /ping; nil means time.Now.
	Now func() time.Time
}

// Server is the http.Handler that serves the callback protocol and the
// operator endpoints. It is safe for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	decider policy.Decider
	mux     *http.ServeMux

	mu     sync.Mutex
	checks []readiness
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
	if cfg.Signer == nil || cfg.Signer.Key == nil {
		return nil, errors.New("server: Config.Signer with a key is required")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.DecideTimeout <= 0 {
		cfg.DecideTimeout = DefaultDecideTimeout
	}
	if cfg.ServiceName == "" {
		cfg.ServiceName = DefaultServiceName
	}
	if cfg.ReplayMaxAge <= 0 {
		cfg.ReplayMaxAge = DefaultReplayMaxAge
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, log: cfg.Logger, decider: cfg.Decider}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.decider == nil {
		s.decider = policy.Default{}
	}
	s.AddReadinessCheck("tss_node_keys", func() error {
		if cfg.Verifier.Keys == nil || cfg.Verifier.Keys.Len() == 0 {
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

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// outcome is everything one check produced; it becomes the reply and the
// decision log line.
type outcome struct {
	version   protocol.Version
	requestID string
	reqType   string
	keyName   string
	status    protocol.Status
	action    protocol.Action
	reason    string
	rule      string
	policyVer string
	shadow    []policy.ShadowOutcome
	received  time.Time
	// replayed: the answer is a recorded decision, not a new evaluation.
	replayed bool
}

// Bounds on the text of a reply and its record. A reason explains; it need
// not carry a whole hostile value, and a signed reply should stay small.
const (
	maxReasonBytes = 1024
	maxNameBytes   = 256 // rule names, policy versions, key names
)

// clean makes every text field of o storable and safe to sign and log
// (text.Clean: valid UTF-8, control characters escaped, bounded), whatever
// produced it: a verifier that cut a value mid-character, a CEL error that
// quotes a NUL, an id from an unverified token. It runs before the record
// and again before the reply, so that no source of a reason can make an
// evaluated decision unrecordable (a status 30 with no row) or put raw
// attacker bytes in a signed reply. Clean is idempotent, so running twice
// changes nothing recorded.
func (o *outcome) clean() {
	o.requestID = text.Clean(o.requestID, protocol.MaxRequestIDBytes)
	o.keyName = text.Clean(o.keyName, maxNameBytes)
	o.reason = text.Clean(o.reason, maxReasonBytes)
	o.rule = text.Clean(o.rule, maxNameBytes)
	o.policyVer = text.Clean(o.policyVer, maxNameBytes)
	for i := range o.shadow {
		o.shadow[i].Rule = text.Clean(o.shadow[i].Rule, maxNameBytes)
		o.shadow[i].Error = text.Clean(o.shadow[i].Error, maxReasonBytes)
	}
}

func (o *outcome) fail(status protocol.Status, reason string) {
	o.status = status
	o.action = protocol.ActionReject
	o.reason = reason
	o.rule = ""
}

func (s *Server) checkHandler(v protocol.Version) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		o := &outcome{version: v, received: start}
		written := false
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("panic while answering a check",
					slog.String("version", string(v)),
					slog.Any("panic", p),
					slog.String("stack", string(debug.Stack())))
				o.fail(protocol.StatusInternalError, "internal error")
				if !written {
					written = true
					s.reply(w, o)
				}
			}
			s.logDecision(r.Context(), o, time.Since(start))
		}()
		s.evaluate(w, r, o)
		written = true
		s.reply(w, o)
	})
}

// evaluate runs the request flow and records its result in o. It never
// writes to w except through http.MaxBytesReader's connection handling.
func (s *Server) evaluate(w http.ResponseWriter, r *http.Request, o *outcome) {
	if r.Method != http.MethodPost {
		o.fail(protocol.StatusInvalidRequest, fmt.Sprintf("method %s not allowed: use POST", r.Method))
		return
	}
	tok, status, reason := s.readToken(w, r)
	if status != protocol.StatusOK {
		o.fail(status, reason)
		return
	}
	verified, err := s.cfg.Verifier.Verify(tok)
	if err != nil {
		o.requestID = token.UnverifiedRequestID(tok)
		if errors.Is(err, token.ErrPayload) {
			o.fail(protocol.StatusInvalidRequest, err.Error())
		} else {
			o.fail(protocol.StatusInvalidToken, err.Error())
		}
		return
	}
	o.keyName = verified.KeyName
	if s.cfg.Debug {
		s.log.Debug("request payload", slog.String("version", string(o.version)),
			slog.String("key", o.keyName), slog.String("package_data", string(verified.PackageData)))
	}
	req, err := protocol.Decode(o.version, verified.PackageData)
	if err != nil {
		var de *protocol.DecodeError
		if errors.As(err, &de) {
			o.requestID = de.RequestID
		}
		o.fail(protocol.StatusInvalidRequest, err.Error())
		return
	}
	req.NodeKey = verified.KeyName
	o.requestID = req.ID
	o.reqType = req.Type.String()
	if req.Type == protocol.TypeKeySign && s.cfg.VerifyTx != nil {
		req.Verification = s.cfg.VerifyTx(req)
		if v := req.Verification; v != nil && !v.Verified {
			s.log.Info("transaction not verified", slog.String("request_id", req.ID), slog.String("reason", v.Reason))
		}
	}

	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.DecideTimeout)
	defer cancel()
	// A request is recorded when there is a store and an id to record it
	// under (only a PING may lack one).
	recordable := s.cfg.Store != nil && req.ID != ""
	var canonical []byte
	if recordable {
		canonical, err = canonicalRequest(req)
		if err != nil {
			s.log.Error("canonical request", slog.String("request_id", req.ID), slog.Any("error", err))
			o.fail(protocol.StatusInternalError, "internal error")
			return
		}
		if s.answerFromRecord(ctx, o, req.ID, canonical) {
			return
		}
	}
	d, err := s.decider.Decide(ctx, req)
	if err != nil {
		s.log.Error("decision failed", slog.String("request_id", o.requestID), slog.Any("error", err))
		o.fail(protocol.StatusInternalError, "policy evaluation failed")
		return
	}
	if d.Approves() && len(d.Limits) > 0 && !recordable {
		// An approval with limits is conditional on them; with nothing to
		// check and record them atomically it must not be signed.
		s.log.Error("velocity limits apply but no decision store enforces them", slog.String("request_id", o.requestID))
		o.fail(protocol.StatusInternalError, "velocity limits are configured but not enforced by this server")
		return
	}
	o.status = protocol.StatusOK
	o.rule = d.Rule
	o.policyVer = d.PolicyVersion
	o.shadow = d.Shadow
	o.action = protocol.ActionReject
	if d.Approves() {
		o.action = protocol.ActionApprove
	} else {
		o.reason = d.Reason
		if o.reason == "" {
			o.reason = "rejected by " + d.Rule
		}
	}
	if recordable {
		o.clean()
		s.record(ctx, o, req, canonical, d)
	}
}

// answerFromRecord answers a request_id that is already recorded: the same
// request gets the recorded decision again (freshly signed, not
// re-evaluated, not counted again); different content under a used
// request_id is rejected. It reports whether it answered.
func (s *Server) answerFromRecord(ctx context.Context, o *outcome, id string, canonical []byte) bool {
	rec, err := s.cfg.Store.Get(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false
	case err != nil:
		s.log.Error("reading the decision log", slog.String("request_id", id), slog.Any("error", err))
		o.fail(protocol.StatusInternalError, "decision log unavailable")
		return true
	case rec.RequestHash != store.RequestHashOf(canonical):
		s.rejectReusedID(o, id, slog.String("recorded_hash", rec.RequestHash), slog.String("request_hash", store.RequestHashOf(canonical)))
		return true
	}
	fromRecord(o, rec)
	o.replayed = true
	if age := o.received.Sub(rec.ReceivedAt); o.action == protocol.ActionApprove && age > s.cfg.ReplayMaxAge {
		s.log.Warn("retry of an old approval refused", slog.String("request_id", id), slog.Duration("age", age))
		o.action, o.rule = protocol.ActionReject, "builtin:replay-too-old"
		o.reason = fmt.Sprintf("request_id %s was approved %s ago; approvals are re-signed for retries within %s only", id, age.Round(time.Second), s.cfg.ReplayMaxAge)
	}
	return true
}

// rejectReusedID answers a request whose request_id is already recorded
// for different content: a REJECT that leaves the record alone.
func (s *Server) rejectReusedID(o *outcome, id string, attrs ...any) {
	s.log.Warn("request_id reused with different content", append([]any{slog.String("request_id", id)}, attrs...)...)
	o.status, o.action, o.rule = protocol.StatusOK, protocol.ActionReject, "builtin:request-id-reused"
	o.reason = "request_id " + id + " was already decided for a different request"
	o.shadow = nil
}

// record commits the decision before it is signed. Only what the store
// committed is answered: an approval turned into a REJECT by a limit is
// answered as that REJECT, and a failure to record is a status 30.
func (s *Server) record(ctx context.Context, o *outcome, req *protocol.Request, canonical []byte, d policy.Decision) {
	rec := store.Record{
		RequestID:     req.ID,
		Version:       string(req.Version),
		Type:          req.Type.String(),
		NodeKey:       o.keyName,
		ReceivedAt:    o.received,
		Request:       canonical,
		Action:        string(o.action),
		Status:        int(o.status),
		Rule:          o.rule,
		Reason:        o.reason,
		PolicyVersion: o.policyVer,
		LatencyMicros: time.Since(o.received).Microseconds(),
	}
	rec.TxKey = txKey(req)
	if len(o.shadow) > 0 {
		rec.Shadow, _ = json.Marshal(shadowJSON(o.shadow))
	}
	var uses []store.LimitUse
	if d.Approves() {
		for _, u := range d.Limits {
			uses = append(uses, store.LimitUse{Limit: u.Limit, Key: u.Key, Window: u.Window, Amount: u.Amount, MaxAmount: u.MaxAmount, MaxCount: u.MaxCount})
		}
	}
	stored, existed, err := s.cfg.Store.Commit(ctx, rec, uses)
	switch {
	case errors.Is(err, store.ErrConflict):
		s.rejectReusedID(o, req.ID)
	case errors.Is(err, store.ErrOutcomeUnknown):
		// Unlike any other failure, the row (an APPROVE, with its limit
		// usage) may exist. The reply is still a status 30; the operator
		// must be told that the record, not this reply, is the truth.
		s.log.Error("decision commit outcome unknown: answered status 30, but the decision may be recorded; `tssgate audit show` tells, and a retry of the request is answered from the record",
			slog.String("request_id", req.ID), slog.String("action", string(o.action)), slog.Any("error", err))
		o.fail(protocol.StatusInternalError, "recording the decision failed: outcome unknown")
	case err != nil:
		s.log.Error("recording the decision failed; not signing it", slog.String("request_id", req.ID), slog.Any("error", err))
		o.fail(protocol.StatusInternalError, "recording the decision failed")
	default:
		fromRecord(o, stored)
		o.replayed = existed
	}
}

// fromRecord makes o answer what rec says.
func fromRecord(o *outcome, rec *store.Record) {
	o.status = protocol.Status(rec.Status)
	o.action = protocol.Action(rec.Action)
	o.rule = rec.Rule
	o.reason = rec.Reason
	o.policyVer = rec.PolicyVersion
}

// maxTxIDBytes bounds the transaction id kept verbatim in a txKey; the
// ledger indexes it, and PostgreSQL refuses B-tree entries over about 2.7 KB.
const maxTxIDBytes = 128

// txKey is the identity under which a KEYSIGN counts against velocity
// limits: Cobo's transaction id bound to what will actually be signed (the
// normalized, sorted msg_hash_list). Retries and the several TSS Nodes of
// one group ask with the same id and the same hashes, so they count once;
// a description that reuses a transaction id for other bytes (another
// amount, another nonce) is a new transaction and counts again. The id
// alone comes from the unverified description and must not be trusted to
// skip a limit.
//
// An id the store could not hold or index (NUL, control characters, over
// maxTxIDBytes) is replaced by its SHA-256, "sha256:<hex>": still one key
// per id, and the decision stays recordable.
func txKey(req *protocol.Request) string {
	if req.KeySign == nil || req.KeySign.Tx == nil {
		return ""
	}
	hashes := make([]string, len(req.KeySign.MsgHashes))
	for i, h := range req.KeySign.MsgHashes {
		hashes[i] = strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(h, "0x"), "0X"))
	}
	slices.Sort(hashes)
	sum := sha256.Sum256([]byte(strings.Join(hashes, ",")))
	id := req.KeySign.Tx.ID
	if text.Clean(id, maxTxIDBytes) != id {
		idSum := sha256.Sum256([]byte(id))
		id = "sha256:" + hex.EncodeToString(idSum[:])
	}
	return id + ":" + hex.EncodeToString(sum[:16])
}

// canonicalRequest is the content a request_id stands for: version, type,
// the TSS Node key that signed it, and the parsed request_detail and
// extra_info, with object keys sorted and numbers kept as sent, so that a
// retry of the same request hashes the same however its JSON was spaced.
// The node key is part of it: a decision recorded for one node is not
// replayed to another (a node_key rule must not be bypassed by reusing a
// request_id).
func canonicalRequest(req *protocol.Request) ([]byte, error) {
	return json.Marshal(map[string]any{
		"version":        string(req.Version),
		"request_id":     req.ID,
		"request_type":   req.Type.String(),
		"node_key":       req.NodeKey,
		"request_detail": req.Detail,
		"extra_info":     req.Extra,
	})
}

func shadowJSON(sh []policy.ShadowOutcome) []map[string]any {
	out := make([]map[string]any, len(sh))
	for i, x := range sh {
		m := map[string]any{"rule": x.Rule, "action": string(x.Action), "matched": x.Matched}
		if x.Error != "" {
			m["error"] = x.Error
		}
		out[i] = m
	}
	return out
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
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
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

// reply signs o as a CallbackResponse and writes it. A reply can only carry
// APPROVE with status 0; anything else is forced to REJECT here, the last
// line of defence before the signature.
func (s *Server) reply(w http.ResponseWriter, o *outcome) {
	o.clean()
	if o.action != protocol.ActionApprove || o.status != protocol.StatusOK {
		o.action = protocol.ActionReject
	}
	payload, err := json.Marshal(protocol.CallbackResponse{
		Status:    o.status,
		RequestID: o.requestID,
		Action:    o.action,
		Error:     o.reason,
	})
	var jwt string
	if err == nil {
		jwt, err = s.cfg.Signer.Sign(payload)
	}
	if err != nil {
		s.log.Error("signing reply failed", slog.String("request_id", o.requestID), slog.Any("error", err))
		o.fail(protocol.StatusInternalError, "signing reply failed")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, jwt)
}

func (s *Server) logDecision(ctx context.Context, o *outcome, latency time.Duration) {
	level := slog.LevelInfo
	if o.status != protocol.StatusOK {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("request_id", o.requestID),
		slog.String("version", string(o.version)),
		slog.String("type", o.reqType),
		slog.String("action", string(o.action)),
		slog.Int("status", int(o.status)),
		slog.String("reason", o.reason),
		slog.String("rule", o.rule),
		slog.String("policy_version", o.policyVer),
		slog.String("key", o.keyName),
		slog.Float64("latency_ms", float64(latency.Microseconds())/1000),
	}
	if len(o.shadow) > 0 {
		// Shadow rules are recorded beside the decision they did not make.
		attrs = append(attrs, slog.Any("shadow", shadowJSON(o.shadow)))
	}
	if o.replayed {
		attrs = append(attrs, slog.Bool("replayed", true))
	}
	s.log.LogAttrs(ctx, level, "decision", attrs...)
}

func (s *Server) handlePing(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"server":    s.cfg.ServiceName,
		"timestamp": s.cfg.Now().UnixMilli(),
	})
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	checks := append([]readiness(nil), s.checks...)
	s.mu.Unlock()
	problems := map[string]string{}
	for _, c := range checks {
		if err := c.check(); err != nil {
			problems[c.name] = err.Error()
		}
	}
	if len(problems) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "problems": problems})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ready": true})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
