package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"tssgate/internal/policy"
	"tssgate/internal/protocol"
	"tssgate/internal/testkit"
	"tssgate/internal/token"
)

// The Cobo template keys (testkit) and one key no server trusts.
var (
	keysOnce   sync.Once
	nodePriv   *rsa.PrivateKey
	nodePub    *rsa.PublicKey
	serverPriv *rsa.PrivateKey
	serverPub  *rsa.PublicKey
	otherPriv  *rsa.PrivateKey
	otherErr   error
)

func loadKeys(t testing.TB) {
	t.Helper()
	k := testkit.CoboKeys(t)
	keysOnce.Do(func() {
		nodePriv, nodePub, serverPriv, serverPub = k.Node, k.NodePub, k.Server, k.ServerPub
		otherPriv, otherErr = rsa.GenerateKey(rand.Reader, 2048)
	})
	if otherErr != nil {
		t.Fatalf("generating the untrusted key: %v", otherErr)
	}
}

// testServer is a Server behind a real listener on 127.0.0.1:0.
type testServer struct {
	*httptest.Server
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newTestServer starts a Server with the Cobo test keys. mod may adjust the
// Config before New.
func newTestServer(t *testing.T, mod func(*Config)) *testServer {
	t.Helper()
	loadKeys(t)
	keys, err := token.NewKeySet(token.NamedKey{Name: "node-a", Key: nodePub})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cfg := Config{
		Verifier: &token.Verifier{Keys: keys, Leeway: 30 * time.Second},
		Signer:   &token.Signer{Key: serverPriv, Issuer: "tssgate-test"},
		Logger:   slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := NewHTTPServer(s, Timeouts{})
	hs.Handler = s
	return &testServer{Server: testkit.StartServer(t, hs), logs: logs}
}

// nodeToken signs claims the way a TSS Node does.
func nodeToken(t testing.TB, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func packageData(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func claimsFor(pd string) jwt.MapClaims {
	return jwt.MapClaims{"package_data": pd, "iss": "tss-node", "exp": time.Now().Add(2 * time.Minute).Unix()}
}

// goodToken is req signed as the TSS Node signs it (testkit's builder,
// independent of the token package and the JWT library).
func goodToken(t testing.TB, req any) string {
	t.Helper()
	loadKeys(t)
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return testkit.RequestToken(t, nodePriv, b)
}

func formBody(tok string) string { return testkit.FormBody(tok) }

// post sends body and returns the HTTP status and the verified reply.
func post(t *testing.T, url, contentType, body string) (int, *protocol.CallbackResponse) {
	t.Helper()
	resp, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain", ct)
	}
	return resp.StatusCode, verifyReply(t, raw)
}

// verifyReply checks the reply's signature with the server's public key and
// decodes it.
func verifyReply(t *testing.T, raw []byte) *protocol.CallbackResponse {
	t.Helper()
	keys, err := token.NewKeySet(token.NamedKey{Name: "server", Key: serverPub})
	if err != nil {
		t.Fatal(err)
	}
	v, err := (&token.Verifier{Keys: keys}).Verify(string(raw))
	if err != nil {
		t.Fatalf("reply does not verify: %v (body %q)", err, raw)
	}
	resp, err := protocol.ParseResponse(v.PackageData)
	if err != nil {
		t.Fatalf("reply package_data: %v", err)
	}
	return resp
}

const form = "application/x-www-form-urlencoded"

// sampleRequest is a realistic request of type typ from the protocol
// package's built-in samples.
func sampleRequest(t testing.TB, v protocol.Version, typ protocol.RequestType, id string) protocol.CallbackRequest {
	t.Helper()
	detail, extra, err := protocol.Sample(v, typ)
	if err != nil {
		t.Fatal(err)
	}
	return protocol.NewCallbackRequest(id, typ, detail, extra)
}

func TestCheckRejectsBrokenInput(t *testing.T) {
	loadKeys(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keysign := sampleRequest(t, protocol.V2, protocol.TypeKeySign, "r-1")
	keysignV1 := sampleRequest(t, protocol.V1, protocol.TypeKeySign, "r-1")
	ping := map[string]any{"request_id": "p-1", "request_type": 0}
	pubPEM := token.MarshalPublicKeyPEM(nodePub)
	good := goodToken(t, ping)
	parts := strings.Split(good, ".")
	expired := claimsFor(packageData(t, ping))
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	noExp := claimsFor(packageData(t, ping))
	delete(noExp, "exp")
	future := claimsFor(packageData(t, ping))
	future["nbf"] = time.Now().Add(time.Hour).Unix()
	unsigned, err := jwt.NewWithClaims(jwt.SigningMethodNone, claimsFor(packageData(t, ping))).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	pdRaw := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

	tests := []struct {
		name        string
		version     string
		contentType string
		body        string
		wantStatus  protocol.Status
		wantID      string
		wantReason  string
	}{
		{name: "empty body", body: "", wantStatus: 10, wantReason: "empty request body"},
		{name: "missing field", body: "OTHER=x", wantStatus: 10, wantReason: "TSS_JWT_MSG missing"},
		{name: "two fields", body: formBody(good) + "&" + formBody(good), wantStatus: 10, wantReason: "given 2 times"},
		{name: "wrong content type", contentType: "application/json", body: `{"TSS_JWT_MSG":"x"}`, wantStatus: 10, wantReason: "content type"},
		{name: "not a form", body: "%zz", wantStatus: 10, wantReason: "not a valid form"},
		{name: "empty token", body: formBody("  "), wantStatus: 20},
		{name: "not a JWT", body: formBody("hello"), wantStatus: 20},
		{name: "two segments", body: formBody(parts[0] + "." + parts[1]), wantStatus: 20},
		{name: "tampered payload", body: formBody(parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"package_data":"e30=","exp":9999999999}`)) + "." + parts[2]), wantStatus: 20},
		{name: "truncated signature", body: formBody(good[:len(good)-10]), wantStatus: 20, wantID: "p-1"},
		{name: "wrong key", body: formBody(nodeToken(t, jwt.SigningMethodRS256, otherPriv, claimsFor(packageData(t, ping)))), wantStatus: 20, wantID: "p-1"},
		{name: "signed by the server's own key", body: formBody(nodeToken(t, jwt.SigningMethodRS256, serverPriv, claimsFor(packageData(t, ping)))), wantStatus: 20, wantID: "p-1"},
		{name: "expired", body: formBody(nodeToken(t, jwt.SigningMethodRS256, nodePriv, expired)), wantStatus: 20, wantID: "p-1", wantReason: "expired"},
		{name: "no exp", body: formBody(nodeToken(t, jwt.SigningMethodRS256, nodePriv, noExp)), wantStatus: 20, wantID: "p-1"},
		{name: "not valid yet", body: formBody(nodeToken(t, jwt.SigningMethodRS256, nodePriv, future)), wantStatus: 20, wantID: "p-1"},
		{name: "alg none", body: formBody(unsigned), wantStatus: 20, wantID: "p-1"},
		{name: "HS256 with the public key as secret", body: formBody(nodeToken(t, jwt.SigningMethodHS256, pubPEM, claimsFor(packageData(t, ping)))), wantStatus: 20, wantID: "p-1"},
		{name: "HS512 with the public key as secret", body: formBody(nodeToken(t, jwt.SigningMethodHS512, pubPEM, claimsFor(packageData(t, ping)))), wantStatus: 20, wantID: "p-1"},
		{name: "RS512 with the right key", body: formBody(nodeToken(t, jwt.SigningMethodRS512, nodePriv, claimsFor(packageData(t, ping)))), wantStatus: 20, wantID: "p-1"},
		{name: "PS256 with the right key", body: formBody(nodeToken(t, jwt.SigningMethodPS256, nodePriv, claimsFor(packageData(t, ping)))), wantStatus: 20, wantID: "p-1"},
		{name: "ES256", body: formBody(nodeToken(t, jwt.SigningMethodES256, ecKey, claimsFor(packageData(t, ping)))), wantStatus: 20, wantID: "p-1"},
		{name: "package_data missing", body: formBody(nodeToken(t, jwt.SigningMethodRS256, nodePriv, jwt.MapClaims{"exp": time.Now().Add(time.Minute).Unix()})), wantStatus: 10},
		{name: "package_data bad base64", body: formBody(nodeToken(t, jwt.SigningMethodRS256, nodePriv, claimsFor("not*base64!"))), wantStatus: 10},
		{name: "package_data url-safe unpadded", body: formBody(nodeToken(t, jwt.SigningMethodRS256, nodePriv, claimsFor(base64.RawURLEncoding.EncodeToString([]byte(`{"request_id":"x?>"}`))))), wantStatus: 10},
		{name: "package_data not JSON", body: formBody(nodeToken(t, jwt.SigningMethodRS256, nodePriv, claimsFor(pdRaw("hello")))), wantStatus: 10},
		{name: "request_detail not JSON", body: formBody(goodToken(t, map[string]any{"request_id": "r-2", "request_type": 1, "request_detail": "test_task_detail", "extra_info": "{}"})), wantStatus: 10, wantID: "r-2", wantReason: "request_detail"},
		{name: "unknown request_type", body: formBody(goodToken(t, map[string]any{"request_id": "r-3", "request_type": 4, "request_detail": "{}", "extra_info": "{}"})), wantStatus: 10, wantID: "r-3", wantReason: "request_type"},
		{name: "request_id a number", body: formBody(goodToken(t, map[string]any{"request_id": 7, "request_type": 2})), wantStatus: 10},
		{name: "body over the cap", body: formBody(strings.Repeat("a", 2<<20)), wantStatus: 10, wantReason: "exceeds"},
		{name: "keysign without policy", body: formBody(goodToken(t, keysign)), wantStatus: 0, wantID: "r-1", wantReason: "no policy is configured"},
		{name: "v1 keysign without policy", version: "v1", body: formBody(goodToken(t, keysignV1)), wantStatus: 0, wantID: "r-1", wantReason: "no policy is configured"},
	}
	ts := newTestServer(t, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.version
			if v == "" {
				v = "v2"
			}
			ct := tc.contentType
			if ct == "" {
				ct = form
			}
			code, resp := post(t, ts.URL+"/"+v+"/check", ct, tc.body)
			if code != http.StatusOK {
				t.Errorf("HTTP %d, want 200", code)
			}
			if resp.Status != tc.wantStatus {
				t.Errorf("status = %d, want %d (error %q)", resp.Status, tc.wantStatus, resp.Error)
			}
			if resp.Action != protocol.ActionReject || resp.Approves() {
				t.Errorf("action = %q, want REJECT", resp.Action)
			}
			if resp.RequestID != tc.wantID {
				t.Errorf("request_id = %q, want %q", resp.RequestID, tc.wantID)
			}
			if resp.Error == "" || !strings.Contains(resp.Error, tc.wantReason) {
				t.Errorf("error = %q, want it to mention %q", resp.Error, tc.wantReason)
			}
		})
	}
	// The server is still serving after all of that.
	_, resp := post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, ping)))
	if !resp.Approves() || resp.RequestID != "p-1" {
		t.Fatalf("ping after attacks: %+v", resp)
	}
}

func TestCheckApprovesPing(t *testing.T) {
	ts := newTestServer(t, nil)
	for _, v := range []string{"v1", "v2"} {
		for name, req := range map[string]any{
			"explicit type": map[string]any{"request_id": "p-" + v, "request_type": 0, "request_detail": "", "extra_info": ""},
			"omitempty":     map[string]any{"request_id": "p-" + v},
		} {
			t.Run(v+"/"+name, func(t *testing.T) {
				_, resp := post(t, ts.URL+"/"+v+"/check", form, formBody(goodToken(t, req)))
				if resp.Status != 0 || resp.Action != protocol.ActionApprove || resp.RequestID != "p-"+v || resp.Error != "" {
					t.Fatalf("reply = %+v, want status 0 APPROVE p-%s", resp, v)
				}
			})
		}
	}
	// One log line per decision, with the key that verified and no token.
	logs := ts.logs.String()
	if !strings.Contains(logs, `"msg":"decision"`) || !strings.Contains(logs, `"key":"node-a"`) || !strings.Contains(logs, `"latency_ms"`) {
		t.Errorf("decision log line missing fields:\n%s", logs)
	}
	if strings.Contains(logs, "eyJ") {
		t.Errorf("logs contain a token:\n%s", logs)
	}
}

func TestCheckWrongMethod(t *testing.T) {
	ts := newTestServer(t, nil)
	resp, err := http.Get(ts.URL + "/v2/check")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := verifyReply(t, raw)
	if resp.StatusCode != 200 || r.Status != 10 || r.Approves() {
		t.Fatalf("GET /v2/check: HTTP %d %+v", resp.StatusCode, r)
	}
}

func TestSeedExampleJWT(t *testing.T) {
	raw, err := os.ReadFile("testdata/seed-v1-example.jwt")
	if err != nil {
		t.Fatal(err)
	}
	seed := strings.TrimSpace(string(raw))
	tests := []struct {
		name       string
		now        func() time.Time
		wantStatus protocol.Status
		wantID     string
		wantReason string
	}{
		{"before expiry: verifies, detail is not JSON", func() time.Time { return time.Date(2023, 6, 21, 4, 20, 0, 0, time.UTC) }, 10, "test_request_id", "request_detail"},
		// exp 04:23:30 is 23.5 minutes ahead: over the default max lifetime.
		{"long before expiry: exp too far ahead", func() time.Time { return time.Date(2023, 6, 21, 4, 0, 0, 0, time.UTC) }, 20, "test_request_id", "exp too far in the future"},
		{"at the real time: expired, request_id still echoed", nil, 20, "test_request_id", "expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, func(c *Config) { c.Verifier.Now = tc.now })
			_, resp := post(t, ts.URL+"/v1/check", form, formBody(seed))
			if resp.Status != tc.wantStatus || resp.RequestID != tc.wantID || resp.Approves() || !strings.Contains(resp.Error, tc.wantReason) {
				t.Fatalf("reply = %+v, want status %d id %q reason ~%q", resp, tc.wantStatus, tc.wantID, tc.wantReason)
			}
		})
	}
}

// deciderFunc adapts a function to policy.Decider.
type deciderFunc func(context.Context, *protocol.Request) (policy.Decision, error)

func (f deciderFunc) Decide(ctx context.Context, r *protocol.Request) (policy.Decision, error) {
	return f(ctx, r)
}

func TestCheckFailsClosed(t *testing.T) {
	tests := []struct {
		name       string
		decider    deciderFunc
		wantStatus protocol.Status
		wantReason string
	}{
		{"decider panics", func(context.Context, *protocol.Request) (policy.Decision, error) { panic("boom") }, 30, "internal error"},
		{"decider errors", func(context.Context, *protocol.Request) (policy.Decision, error) {
			return policy.Decision{Action: protocol.ActionApprove}, errors.New("store down")
		}, 30, "policy evaluation failed"},
		{"decider times out", func(ctx context.Context, _ *protocol.Request) (policy.Decision, error) {
			<-ctx.Done()
			return policy.Decision{Action: protocol.ActionApprove}, ctx.Err()
		}, 30, "policy evaluation failed"},
		{"unknown action", func(context.Context, *protocol.Request) (policy.Decision, error) {
			return policy.Decision{Action: "MAYBE", Rule: "odd"}, nil
		}, 0, "rejected by odd"},
		{"zero decision", func(context.Context, *protocol.Request) (policy.Decision, error) { return policy.Decision{}, nil }, 0, "rejected"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, func(c *Config) {
				c.Decider = tc.decider
				c.DecideTimeout = 50 * time.Millisecond
			})
			_, resp := post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, sampleRequest(t, protocol.V2, protocol.TypeKeySign, "r-9"))))
			if resp.Status != tc.wantStatus || resp.Approves() || resp.RequestID != "r-9" || !strings.Contains(resp.Error, tc.wantReason) {
				t.Fatalf("reply = %+v, want status %d REJECT r-9 ~%q", resp, tc.wantStatus, tc.wantReason)
			}
		})
	}
}

func TestNoTSSNodeKey(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		empty, err := token.NewKeySet()
		if err != nil {
			t.Fatal(err)
		}
		c.Verifier = &token.Verifier{Keys: empty}
	})
	_, resp := post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, map[string]any{"request_id": "p"})))
	if resp.Status != 20 || resp.Approves() {
		t.Fatalf("reply = %+v, want status 20", resp)
	}
	r, err := http.Get(ts.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz = %d, want 503", r.StatusCode)
	}
}

func TestOperatorEndpoints(t *testing.T) {
	now := time.UnixMilli(1750000000123)
	ts := newTestServer(t, func(c *Config) {
		c.ServiceName = "gate-1"
		c.Now = func() time.Time { return now }
	})
	tests := []struct {
		path     string
		wantCode int
		want     string
	}{
		{"/ping", 200, `{"server":"gate-1","timestamp":1750000000123}`},
		{"/healthz", 200, `{"ok":true}`},
		{"/readyz", 200, `{"ready":true}`},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := http.Get(ts.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantCode || strings.TrimSpace(string(b)) != tc.want {
				t.Fatalf("GET %s = %d %s, want %d %s", tc.path, resp.StatusCode, b, tc.wantCode, tc.want)
			}
		})
	}
}

// A client that sends its body too slowly is cut off by the read timeout and
// does not stop the server from answering others.
func TestSlowClient(t *testing.T) {
	loadKeys(t)
	keys, _ := token.NewKeySet(token.NamedKey{Name: "node-a", Key: nodePub})
	s, err := New(Config{
		Verifier: &token.Verifier{Keys: keys},
		Signer:   &token.Signer{Key: serverPriv},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewHTTPServer(s, Timeouts{ReadHeader: 200 * time.Millisecond, Read: 300 * time.Millisecond, Write: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, srv, ln, "", "", time.Second) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Announce a body, send a little of it, then stall.
	if _, err := io.WriteString(conn, "POST /v2/check HTTP/1.1\r\nHost: x\r\nContent-Type: "+form+"\r\nContent-Length: 1000\r\n\r\nTSS_JWT_MSG=ab"); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	reply, _ := io.ReadAll(conn) // the server answers or closes once the read deadline passes
	if bytes.Contains(reply, []byte("APPROVE")) {
		t.Fatalf("slow client got %q", reply)
	}
	if i := bytes.Index(reply, []byte("\r\n\r\n")); i >= 0 {
		r := verifyReply(t, bytes.TrimSpace(bytes.SplitN(reply[i+4:], []byte("\r\n"), 2)[0]))
		if r.Status != 10 || r.Approves() {
			t.Fatalf("slow client reply = %+v", r)
		}
	}
	// Others are still served.
	_, resp := post(t, "http://"+ln.Addr().String()+"/v2/check", form, formBody(goodToken(t, map[string]any{"request_id": "p"})))
	if !resp.Approves() {
		t.Fatalf("ping after slow client: %+v", resp)
	}
}

// Shutdown lets an in-flight request finish with a signed reply.
func TestGracefulShutdown(t *testing.T) {
	loadKeys(t)
	keys, _ := token.NewKeySet(token.NamedKey{Name: "node-a", Key: nodePub})
	entered := make(chan struct{})
	s, err := New(Config{
		Verifier: &token.Verifier{Keys: keys},
		Signer:   &token.Signer{Key: serverPriv},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Decider: deciderFunc(func(ctx context.Context, r *protocol.Request) (policy.Decision, error) {
			close(entered)
			time.Sleep(300 * time.Millisecond)
			return policy.Default{}.Decide(ctx, r)
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, NewHTTPServer(s, Timeouts{}), ln, "", "", 5*time.Second) }()

	type result struct {
		body []byte
		err  error
	}
	got := make(chan result, 1)
	go func() {
		r, err := http.Post("http://"+ln.Addr().String()+"/v2/check", form, strings.NewReader(formBody(goodToken(t, map[string]any{"request_id": "p-s"}))))
		if err != nil {
			got <- result{err: err}
			return
		}
		defer r.Body.Close()
		b, err := io.ReadAll(r.Body)
		got <- result{body: b, err: err}
	}()
	<-entered
	cancel()
	res := <-got
	if res.err != nil {
		t.Fatalf("in-flight request failed during shutdown: %v", res.err)
	}
	if r := verifyReply(t, res.body); !r.Approves() || r.RequestID != "p-s" {
		t.Fatalf("in-flight reply = %+v", r)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

// The decider sees which configured key verified the request.
func TestDeciderSeesNodeKey(t *testing.T) {
	got := make(chan string, 1)
	ts := newTestServer(t, func(c *Config) {
		c.Decider = deciderFunc(func(ctx context.Context, r *protocol.Request) (policy.Decision, error) {
			got <- r.NodeKey
			return policy.Default{}.Decide(ctx, r)
		})
	})
	_, resp := post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, map[string]any{"request_id": "p"})))
	if !resp.Approves() {
		t.Fatalf("reply %+v", resp)
	}
	if k := <-got; k != "node-a" {
		t.Fatalf("NodeKey = %q, want node-a", k)
	}
}

// Shadow outcomes are recorded in the decision line and change nothing.
func TestShadowOutcomesLogged(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		c.Decider = deciderFunc(func(ctx context.Context, r *protocol.Request) (policy.Decision, error) {
			return policy.Decision{Action: protocol.ActionApprove, Rule: "heartbeat", PolicyVersion: "sha256:x",
				Shadow: []policy.ShadowOutcome{{Rule: "night", Action: protocol.ActionReject, Matched: true}}}, nil
		})
	})
	_, resp := post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, map[string]any{"request_id": "p"})))
	if !resp.Approves() {
		t.Fatalf("reply %+v", resp)
	}
	if logs := ts.logs.String(); !strings.Contains(logs, `"shadow":[{"action":"REJECT","matched":true,"rule":"night"}]`) || !strings.Contains(logs, `"policy_version":"sha256:x"`) {
		t.Fatalf("decision line lacks the shadow outcome:\n%s", logs)
	}
}

// KEYSIGN requests are verified before the decision, the decider sees the
// result, other types are not verified, and a verifier that panics fails
// closed.
func TestVerifyTxBeforeDeciding(t *testing.T) {
	var verifiedTypes []protocol.RequestType
	var mu sync.Mutex
	seen := make(chan *protocol.Verification, 4)
	ts := newTestServer(t, func(c *Config) {
		c.VerifyTx = func(r *protocol.Request) *protocol.Verification {
			mu.Lock()
			verifiedTypes = append(verifiedTypes, r.Type)
			mu.Unlock()
			if r.ID == "boom" {
				panic("decoder bug")
			}
			return &protocol.Verification{Verified: true, Method: "native_transfer"}
		}
		c.Decider = deciderFunc(func(ctx context.Context, r *protocol.Request) (policy.Decision, error) {
			seen <- r.Verification
			return policy.Decision{Action: protocol.ActionApprove, Rule: "r"}, nil
		})
	})
	_, resp := post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, sampleRequest(t, protocol.V2, protocol.TypeKeySign, "k-1"))))
	if !resp.Approves() {
		t.Fatalf("reply %+v", resp)
	}
	if v := <-seen; v == nil || !v.Verified || v.Method != "native_transfer" {
		t.Fatalf("decider saw verification %+v", v)
	}
	_, resp = post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, sampleRequest(t, protocol.V2, protocol.TypeKeyGen, "g-1"))))
	if v := <-seen; v != nil || !resp.Approves() {
		t.Fatalf("KEYGEN was verified: %+v", v)
	}
	_, resp = post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, sampleRequest(t, protocol.V2, protocol.TypeKeySign, "boom"))))
	if resp.Status != protocol.StatusInternalError || resp.Approves() || resp.RequestID != "boom" {
		t.Fatalf("panicking verifier: reply %+v", resp)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(verifiedTypes) != 2 || verifiedTypes[0] != protocol.TypeKeySign || verifiedTypes[1] != protocol.TypeKeySign {
		t.Fatalf("verified types %v, want KEYSIGN twice", verifiedTypes)
	}
}

// An approval that carries velocity limits is not signed when nothing
// enforces them.
func TestApprovalWithUnenforcedLimitsFailsClosed(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		c.Decider = deciderFunc(func(ctx context.Context, r *protocol.Request) (policy.Decision, error) {
			return policy.Decision{Action: protocol.ActionApprove, Rule: "r", Limits: []policy.LimitUse{{Limit: "daily", MaxCount: 1}}}, nil
		})
	})
	_, resp := post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, sampleRequest(t, protocol.V2, protocol.TypeKeySign, "k-1"))))
	if resp.Status != protocol.StatusInternalError || resp.Approves() || !strings.Contains(resp.Error, "not enforced") {
		t.Fatalf("reply %+v", resp)
	}
}

// The plain-form shortcut reads exactly what url.ParseQuery reads, and
// declines every body it could read differently.
func TestPlainFormMatchesParseQuery(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		plain bool
	}{
		{"token", "TSS_JWT_MSG=eyJhbGciOiJSUzI1NiJ9.eyJ4IjoxfQ.c2ln-_", true},
		{"escaped", "TSS_JWT_MSG=abc%2Edef", false},
		{"plus", "TSS_JWT_MSG=ab+cd", false},
		{"two fields", "TSS_JWT_MSG=abc&TSS_JWT_MSG=def", false},
		{"other field first", "x=1&TSS_JWT_MSG=abc", false},
		{"semicolon", "TSS_JWT_MSG=abc;x=1", false},
		{"empty value", "TSS_JWT_MSG=", false},
		{"case", "tss_jwt_msg=abc", false},
		{"space", "TSS_JWT_MSG= abc", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := plainForm([]byte(tc.body))
			if ok != tc.plain {
				t.Fatalf("plainForm(%q) ok = %v, want %v", tc.body, ok, tc.plain)
			}
			if !ok {
				return
			}
			form, err := url.ParseQuery(tc.body)
			if err != nil || len(form[protocol.FormField]) != 1 || form[protocol.FormField][0] != got {
				t.Fatalf("plainForm(%q) = %q, url.ParseQuery reads %v (%v)", tc.body, got, form, err)
			}
		})
	}
}
