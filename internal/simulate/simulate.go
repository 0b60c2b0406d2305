// Package simulate emulates a Cobo MPC TSS Node in front of a callback server.
//
// It owns the node's half of the callback protocol (PROTOCOL.md sections 1
// and 2): building CallbackRequests, signing them with the node's callback
// key, POSTing them as the form field TSS_JWT_MSG, and checking the signed
// reply the way a careful node must before it would run a key task. A reply
// counts as an answer only when its RS256 signature verifies against the
// callback server's public key, its package_data parses as a
// CallbackResponse and its request_id echoes the request's. Approval is
// stricter still: status 0 and action APPROVE (see ExitCode). Everything
// else fails closed.
//
// The package is a client and test tool: it imports only the standard
// library, tssgate/internal/token and tssgate/internal/protocol, never the
// server, policy or store packages, so it exercises a server strictly over
// the wire. Keys are assumed to be trusted test or operator keys supplied by
// the caller; the package never generates or persists keys.
//
// WaitForFile and WaitForServer give a just-started server a bounded time
// to write its keys and accept connections, so a script may start the
// server in the background and simulate at once; when the wait runs out
// a *NotReadyError names what is missing.
package simulate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"tssgate/internal/protocol"
	"tssgate/internal/token"
)

// DefaultTimeout is the per-request timeout of the client used when
// Node.HTTP is nil. It matches the TSS Node's request_timeout default, so a
// server that is too slow for a real node is also too slow here.
const DefaultTimeout = 10 * time.Second

// MaxReplyBytes caps how much of a reply body is read. A signed
// CallbackResponse is well under a few kilobytes; anything this large is not
// a reply, and reading it unbounded would let a broken server exhaust memory.
const MaxReplyBytes = 1 << 20

// ErrUnverifiable reports a reply whose JWT does not verify against the
// callback server's key(s): bad signature, unknown key, expired, malformed
// token or garbage body. The token package's error is wrapped with it.
var ErrUnverifiable = errors.New("reply does not verify")

// ErrRequestIDMismatch reports a correctly signed reply that answers a
// different request. A node must treat it as no answer at all: approving on
// it would let one approval authorize another task.
var ErrRequestIDMismatch = errors.New("reply request_id does not match")

// ErrMalformedReply reports a reply that verifies but whose package_data is
// not a CallbackResponse. The server's key signed it, yet it says nothing a
// node could act on.
var ErrMalformedReply = errors.New("reply package_data is not a CallbackResponse")

// ErrHTTPStatus reports a reply with an HTTP status other than 200. tssgate
// promises 200 for every signed reply (README, "The protocol as tssgate
// speaks it"), and whether a real node reads a JWT out of a 400 or 500 is
// unknown (PROTOCOL.md 9 item 4), so any other status is an error even if
// the body verifies.
var ErrHTTPStatus = errors.New("unexpected HTTP status")

// Node is a simulated TSS Node bound to one callback server.
//
// A Node is safe for concurrent use once its fields are set, provided the
// Signer and Verifier are (the token package's are). The zero value is not
// usable: BaseURL, Signer and Server are required, and their absence is an
// error, never a silently unsigned request or an unverified reply.
type Node struct {
	// BaseURL is the server's scheme, host and optional path prefix, e.g.
	// "http://127.0.0.1:11020". One trailing slash is tolerated.
	BaseURL string
	// HTTP sends the requests. Nil means a client with DefaultTimeout on the
	// default transport.
	HTTP *http.Client
	// Signer holds the node's callback private key; it signs requests.
	Signer *token.Signer
	// Server holds the callback server's public key(s); it verifies replies.
	Server *token.Verifier
}

// Result is the outcome of one Check.
type Result struct {
	// Request is the request as sent.
	Request protocol.CallbackRequest
	// Response is the verified reply. It is non-nil only when Check returned
	// a nil error, so a failed check can never be mistaken for an answer.
	Response *protocol.CallbackResponse
	// HTTPStatus is the reply's HTTP status, 0 if none arrived.
	HTTPStatus int
	// Latency is the POST round trip: request written to body read. It
	// excludes signing and verification.
	Latency time.Duration
}

// NewRequest builds a CallbackRequest of type t with a fresh random
// request_id ("sim-" and 16 hex digits). A nil detail or extra is replaced by
// the built-in sample for (v, t) from protocol.Sample; a non-nil one is used
// verbatim, which lets callers send deliberately odd payloads. It returns an
// error for an unknown version or when a needed sample does not exist.
func NewRequest(v protocol.Version, t protocol.RequestType, detail, extra []byte) (protocol.CallbackRequest, error) {
	if v.Path() == "" {
		return protocol.CallbackRequest{}, fmt.Errorf("building request: unknown protocol version %q", v)
	}
	if detail == nil || extra == nil {
		sd, se, err := protocol.Sample(v, t)
		if err != nil {
			return protocol.CallbackRequest{}, fmt.Errorf("loading %s %s sample: %w", v, t, err)
		}
		if detail == nil {
			detail = sd
		}
		if extra == nil {
			extra = se
		}
	}
	return protocol.NewCallbackRequest(newRequestID(), t, detail, extra), nil
}

// newRequestID returns "sim-" and 64 random bits in hex. crypto/rand is used
// so that ids stay unique across concurrent simulators hitting one server,
// whose idempotency is keyed on request_id.
func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails; it crashes instead.
	return "sim-" + hex.EncodeToString(b[:])
}

// SignRequest marshals req to JSON and signs it with n.Signer, producing the
// TSS_JWT_MSG value. It fails if the Node has no Signer or signing fails.
func (n *Node) SignRequest(req protocol.CallbackRequest) (string, error) {
	if n.Signer == nil {
		return "", errors.New("signing request: node has no signer")
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("encoding request %q: %w", req.RequestID, err)
	}
	jwt, err := n.Signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("signing request %q: %w", req.RequestID, err)
	}
	return jwt, nil
}

// Post sends one signed token as the single form field TSS_JWT_MSG
// (application/x-www-form-urlencoded) to BaseURL+v.Path() and returns the raw
// reply body and HTTP status, whatever that status is. Transport errors from
// the HTTP client are returned as they are; a body larger than MaxReplyBytes
// is an error. Post does not interpret the body: see ReadReply.
func (n *Node) Post(ctx context.Context, v protocol.Version, jwt string) (body []byte, httpStatus int, err error) {
	return n.post(ctx, n.client(), v, jwt)
}

func (n *Node) post(ctx context.Context, c *http.Client, v protocol.Version, jwt string) ([]byte, int, error) {
	target, err := n.endpoint(v)
	if err != nil {
		return nil, 0, err
	}
	form := url.Values{protocol.FormField: {jwt}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form))
	if err != nil {
		return nil, 0, fmt.Errorf("building HTTP request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxReplyBytes+1))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("reading reply body: %w", err)
	}
	if len(body) > MaxReplyBytes {
		return nil, resp.StatusCode, fmt.Errorf("reading reply body: longer than %d bytes", MaxReplyBytes)
	}
	return body, resp.StatusCode, nil
}

// endpoint joins BaseURL and the version's path.
func (n *Node) endpoint(v protocol.Version) (string, error) {
	p := v.Path()
	if p == "" {
		return "", fmt.Errorf("posting request: unknown protocol version %q", v)
	}
	if n.BaseURL == "" {
		return "", errors.New("posting request: node has no base URL")
	}
	return strings.TrimSuffix(n.BaseURL, "/") + p, nil
}

// client returns the configured client or the default one.
func (n *Node) client() *http.Client {
	if n.HTTP != nil {
		return n.HTTP
	}
	return &http.Client{Timeout: DefaultTimeout}
}

// ReadReply checks a reply body the way a node must before acting on it:
// trim surrounding whitespace, strip ONE pair of surrounding double quotes
// (Cobo's Go templates JSON-quote the JWT, PROTOCOL.md 1.2), verify the JWT
// with n.Server, parse its package_data with protocol.ParseResponse, and
// require request_id == wantID.
//
// It returns a non-nil response only with a nil error. Errors wrap
// ErrUnverifiable (also when the Node has no Server verifier),
// ErrMalformedReply or ErrRequestIDMismatch. A verified response may still
// be a REJECT or a non-zero status; use Approves or ExitCode to decide.
func (n *Node) ReadReply(body []byte, wantID string) (*protocol.CallbackResponse, error) {
	if n.Server == nil {
		return nil, fmt.Errorf("%w: node has no server verifier", ErrUnverifiable)
	}
	verified, err := n.Server.Verify(unwrapReply(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnverifiable, err)
	}
	resp, err := protocol.ParseResponse(verified.PackageData)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedReply, err)
	}
	if resp == nil {
		return nil, ErrMalformedReply
	}
	if resp.RequestID != wantID {
		return nil, fmt.Errorf("%w: got %q, want %q", ErrRequestIDMismatch, clip(resp.RequestID), clip(wantID))
	}
	return resp, nil
}

// unwrapReply removes the transport wrapping from a reply body. Only one
// pair of quotes is stripped: a body quoted twice is not a form any server
// sends, so it is left for the verifier to reject.
func unwrapReply(body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	return s
}

// Check sends req once and verifies the answer: SignRequest, Post, then
// ReadReply against req.RequestID. A non-200 HTTP status is an error wrapping
// ErrHTTPStatus; the body is still read so that the error carries what the
// server said.
//
// The returned Result is non-nil even on error, with whatever was learned
// (HTTPStatus, Latency), but its Response is set only when the error is nil.
// Errors are those of SignRequest, Post (transport errors as they are) and
// ReadReply, or ErrHTTPStatus.
func (n *Node) Check(ctx context.Context, v protocol.Version, req protocol.CallbackRequest) (*Result, error) {
	res := &Result{Request: req}
	jwt, err := n.SignRequest(req)
	if err != nil {
		return res, err
	}
	start := time.Now()
	body, status, err := n.post(ctx, n.client(), v, jwt)
	res.Latency = time.Since(start)
	res.HTTPStatus = status
	if err != nil {
		return res, err
	}
	resp, err := n.judge(body, status, req.RequestID)
	if err != nil {
		return res, err
	}
	res.Response = resp
	return res, nil
}

// judge turns a received body and status into a verified response or an
// error. Shared by Check and Load so that both apply the same rules.
func (n *Node) judge(body []byte, status int, wantID string) (*protocol.CallbackResponse, error) {
	resp, err := n.ReadReply(body, wantID)
	if status != http.StatusOK {
		if err == nil {
			return nil, fmt.Errorf("%w %d: signed reply status %d, action %q, error %q",
				ErrHTTPStatus, status, resp.Status, clip(string(resp.Action)), clip(resp.Error))
		}
		return nil, fmt.Errorf("%w %d: body %q (%v)", ErrHTTPStatus, status, clip(string(body)), err)
	}
	return resp, err
}

// clip shortens s for error messages: reply text comes from the network
// and must not flood a terminal or log line.
func clip(s string) string {
	const limit = 200
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}

// ExitCode maps the outcome of a check to the simulate CLI's exit code:
// 0 when resp approves (status 0 and APPROVE), 1 for a REJECT with status 0,
// and 2 for everything else: a non-nil err, a nil resp, a non-zero status,
// or status 0 with any other action. A non-nil err wins over resp, so a
// response that arrived alongside an error is never treated as an answer.
func ExitCode(resp *protocol.CallbackResponse, err error) int {
	switch {
	case err != nil || resp == nil:
		return 2
	case resp.Approves():
		return 0
	case resp.Status == protocol.StatusOK && resp.Action == protocol.ActionReject:
		return 1
	default:
		return 2
	}
}
