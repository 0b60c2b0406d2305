package simulate

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"tssgate/internal/protocol"
	"tssgate/internal/testkit"
	"tssgate/internal/token"
)

// testKeys are the node and server key pairs: Cobo's published template
// keys (public: tests only), from testkit.
type testKeys struct {
	node      *rsa.PrivateKey
	nodePub   *rsa.PublicKey
	server    *rsa.PrivateKey
	serverPub *rsa.PublicKey
}

func loadKeys(t testing.TB) testKeys {
	t.Helper()
	k := testkit.CoboKeys(t)
	return testKeys{node: k.Node, nodePub: k.NodePub, server: k.Server, serverPub: k.ServerPub}
}

// newVerifier returns a verifier that trusts exactly pub.
func newVerifier(t testing.TB, name string, pub *rsa.PublicKey) *token.Verifier {
	t.Helper()
	ks, err := token.NewKeySet(token.NamedKey{Name: name, Key: pub})
	if err != nil {
		t.Fatalf("NewKeySet(%s): %v", name, err)
	}
	return &token.Verifier{Keys: ks}
}

const nodeIssuer = "tss-node-sim"

// newNode returns a Node signing with the node test key and trusting the
// server test key.
func newNode(t testing.TB, baseURL string) *Node {
	t.Helper()
	k := loadKeys(t)
	return &Node{
		BaseURL: baseURL,
		Signer:  &token.Signer{Key: k.node, Issuer: nodeIssuer, TTL: 2 * time.Minute},
		Server:  newVerifier(t, "callback-server", k.serverPub),
	}
}

// replySpec says how the fake server answers one request. The zero value is
// a raw, correctly signed status-0 APPROVE with HTTP 200.
type replySpec struct {
	httpStatus int                 // 0 means 200
	status     protocol.Status     // CallbackResponse.status
	action     string              // "" means APPROVE
	errText    string              // CallbackResponse.error
	noAction   bool                // send action "" (overrides the default)
	requestID  func(string) string // rewrites the echoed id; nil echoes
	wrap       func(string) string // wraps the JWT into the body; nil is raw
	signer     *token.Signer       // nil means the server key
	payload    []byte              // signed verbatim instead of a CallbackResponse
	body       string              // sent verbatim, no JWT at all
}

// seenRequest is what the fake server observed about one request.
type seenRequest struct {
	method      string
	path        string
	rawQuery    string
	contentType string
	postForm    map[string][]string
	verified    *token.Verified
	verifyErr   error
	fields      map[string]json.RawMessage
	req         protocol.CallbackRequest
	decodeErr   error
}

// fakeServer is a minimal callback server written for these tests: it
// verifies the node's JWT with the node public key and answers as its
// choose function says, signing with the server test key.
type fakeServer struct {
	*httptest.Server
	t         testing.TB
	verifier  *token.Verifier
	signer    *token.Signer
	choose    func(protocol.CallbackRequest) replySpec
	onRequest func() // called at the start of every request, if set

	mu   sync.Mutex
	seen []seenRequest
}

func newFakeServer(t testing.TB, choose func(protocol.CallbackRequest) replySpec) *fakeServer {
	t.Helper()
	return startFakeServer(t, choose, nil)
}

// startFakeServer lets a test observe connection states before start.
func startFakeServer(t testing.TB, choose func(protocol.CallbackRequest) replySpec, connState func(net.Conn, http.ConnState)) *fakeServer {
	t.Helper()
	k := loadKeys(t)
	f := &fakeServer{
		t:        t,
		verifier: newVerifier(t, "tss-node", k.nodePub),
		signer:   &token.Signer{Key: k.server, Issuer: "callback-server", TTL: 2 * time.Minute},
		choose:   choose,
	}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(f.handle))
	f.Server.Config.ConnState = connState
	f.Server.Start()
	t.Cleanup(f.Server.Close)
	return f
}

func (f *fakeServer) handle(w http.ResponseWriter, r *http.Request) {
	if f.onRequest != nil {
		f.onRequest()
	}
	s := seenRequest{
		method:      r.Method,
		path:        r.URL.Path,
		rawQuery:    r.URL.RawQuery,
		contentType: r.Header.Get("Content-Type"),
	}
	if err := r.ParseForm(); err != nil {
		s.decodeErr = err
	}
	s.postForm = r.PostForm
	s.verified, s.verifyErr = f.verifier.Verify(r.PostForm.Get(protocol.FormField))
	if s.verifyErr == nil {
		if err := json.Unmarshal(s.verified.PackageData, &s.fields); err != nil {
			s.decodeErr = err
		} else if err := json.Unmarshal(s.verified.PackageData, &s.req); err != nil {
			s.decodeErr = err
		}
	}
	f.mu.Lock()
	f.seen = append(f.seen, s)
	f.mu.Unlock()

	if s.verifyErr != nil || s.decodeErr != nil {
		f.write(w, s.req.RequestID, replySpec{status: protocol.StatusInvalidToken, action: "REJECT", errText: "bad request token"})
		return
	}
	f.write(w, s.req.RequestID, f.choose(s.req))
}

func (f *fakeServer) write(w http.ResponseWriter, id string, spec replySpec) {
	code := spec.httpStatus
	if code == 0 {
		code = http.StatusOK
	}
	body := spec.body
	if body == "" {
		jwt := f.sign(id, spec)
		body = jwt
		if spec.wrap != nil {
			body = spec.wrap(jwt)
		}
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

// sign builds the reply JWT. The JSON is written here rather than with
// protocol's types so that the test peer does not share the code under test.
func (f *fakeServer) sign(id string, spec replySpec) string {
	payload := spec.payload
	if payload == nil {
		action := spec.action
		if action == "" && !spec.noAction {
			action = "APPROVE"
		}
		if spec.requestID != nil {
			id = spec.requestID(id)
		}
		var err error
		payload, err = json.Marshal(map[string]any{
			"status":     int(spec.status),
			"request_id": id,
			"action":     action,
			"error":      spec.errText,
		})
		if err != nil {
			f.t.Errorf("fake server: encoding reply: %v", err)
		}
	}
	signer := spec.signer
	if signer == nil {
		signer = f.signer
	}
	jwt, err := signer.Sign(payload)
	if err != nil {
		f.t.Errorf("fake server: signing reply: %v", err)
	}
	return jwt
}

// requests returns a copy of what the server has seen.
func (f *fakeServer) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen...)
}

// always answers every request with spec.
func always(spec replySpec) func(protocol.CallbackRequest) replySpec {
	return func(protocol.CallbackRequest) replySpec { return spec }
}

// quote mimics Cobo's Go template, which JSON-encodes the JWT string.
func quote(jwt string) string { return `"` + jwt + `"` }

// mustRequest builds a request with explicit payloads, so tests do not
// depend on the protocol package's samples unless they mean to.
func mustRequest(t testing.TB, v protocol.Version, typ protocol.RequestType) protocol.CallbackRequest {
	t.Helper()
	req, err := NewRequest(v, typ, []byte(`{"task_id":"t-1"}`), []byte(`{"note":"simulated"}`))
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	return req
}

// checkAgainst runs one Check of a fresh KEYSIGN request against a fake
// server that answers with spec.
func checkAgainst(t *testing.T, spec replySpec) (protocol.CallbackRequest, *Result, error) {
	t.Helper()
	srv := newFakeServer(t, always(spec))
	n := newNode(t, srv.URL)
	req := mustRequest(t, protocol.V2, protocol.TypeKeySign)
	res, err := n.Check(context.Background(), protocol.V2, req)
	return req, res, err
}

// refusedURL returns a base URL on which nothing listens: the port was
// just bound and released, so connecting is refused.
func refusedURL(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	u := "http://" + l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("closing listener: %v", err)
	}
	return u
}

// errContains reports whether err's text contains want.
func errContains(err error, want string) bool {
	return err != nil && strings.Contains(err.Error(), want)
}
