package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tssgate/internal/protocol"
	"tssgate/internal/token"
)

func TestCheckOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		spec       replySpec
		wantStatus protocol.Status
		wantAction protocol.Action
		wantExit   int
	}{
		{
			name:       "approve",
			spec:       replySpec{},
			wantStatus: protocol.StatusOK, wantAction: protocol.ActionApprove, wantExit: 0,
		},
		{
			name:       "reject with reason",
			spec:       replySpec{action: "REJECT", errText: "over daily limit"},
			wantStatus: protocol.StatusOK, wantAction: protocol.ActionReject, wantExit: 1,
		},
		{
			name:       "status 20 invalid token",
			spec:       replySpec{status: protocol.StatusInvalidToken, action: "REJECT", errText: "invalid token"},
			wantStatus: protocol.StatusInvalidToken, wantAction: protocol.ActionReject, wantExit: 2,
		},
		{
			name:       "status 30 with APPROVE is not an approval",
			spec:       replySpec{status: protocol.StatusInternalError, action: "APPROVE"},
			wantStatus: protocol.StatusInternalError, wantAction: protocol.ActionApprove, wantExit: 2,
		},
		{
			name:       "status 0 without action",
			spec:       replySpec{noAction: true},
			wantStatus: protocol.StatusOK, wantAction: "", wantExit: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, res, err := checkAgainst(t, tt.spec)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if res.HTTPStatus != http.StatusOK {
				t.Errorf("HTTPStatus = %d, want 200", res.HTTPStatus)
			}
			if res.Latency <= 0 {
				t.Errorf("Latency = %v, want > 0", res.Latency)
			}
			if res.Request.RequestID != req.RequestID {
				t.Errorf("Result.Request.RequestID = %q, want %q", res.Request.RequestID, req.RequestID)
			}
			if res.Response == nil {
				t.Fatal("Response is nil with a nil error")
			}
			if res.Response.Status != tt.wantStatus || res.Response.Action != tt.wantAction {
				t.Errorf("reply = status %d action %q, want status %d action %q",
					res.Response.Status, res.Response.Action, tt.wantStatus, tt.wantAction)
			}
			if res.Response.RequestID != req.RequestID {
				t.Errorf("reply request_id = %q, want %q", res.Response.RequestID, req.RequestID)
			}
			if res.Response.Error != tt.spec.errText {
				t.Errorf("reply error = %q, want %q", res.Response.Error, tt.spec.errText)
			}
			if got := ExitCode(res.Response, err); got != tt.wantExit {
				t.Errorf("ExitCode = %d, want %d", got, tt.wantExit)
			}
		})
	}
}

func TestCheckReplyForms(t *testing.T) {
	k := loadKeys(t)
	wrongKey := &token.Signer{Key: k.node, Issuer: "impostor", TTL: 2 * time.Minute}
	expired := &token.Signer{
		Key: k.server, Issuer: "callback-server", TTL: 2 * time.Minute,
		Now: func() time.Time { return time.Now().Add(-time.Hour) },
	}

	tests := []struct {
		name     string
		spec     replySpec
		wantErr  error  // nil means the reply must be accepted
		wantText string // substring of the error, if any
	}{
		{name: "raw JWT", spec: replySpec{}},
		{name: "JSON-quoted JWT", spec: replySpec{wrap: quote}},
		{name: "raw with trailing newline", spec: replySpec{wrap: func(s string) string { return s + "\n" }}},
		{name: "quoted with surrounding whitespace", spec: replySpec{wrap: func(s string) string { return " \r\n" + quote(s) + "\r\n" }}},
		{name: "quoted twice", spec: replySpec{wrap: func(s string) string { return quote(quote(s)) }}, wantErr: ErrUnverifiable},
		{name: "only an opening quote", spec: replySpec{wrap: func(s string) string { return `"` + s }}, wantErr: ErrUnverifiable},
		{name: "signed by the wrong key", spec: replySpec{signer: wrongKey}, wantErr: ErrUnverifiable},
		{name: "expired reply", spec: replySpec{signer: expired}, wantErr: ErrUnverifiable},
		{name: "other request_id", spec: replySpec{requestID: func(string) string { return "sim-0000000000000000" }}, wantErr: ErrRequestIDMismatch, wantText: "sim-0000000000000000"},
		{name: "empty request_id", spec: replySpec{requestID: func(string) string { return "" }}, wantErr: ErrRequestIDMismatch},
		{name: "package_data not a response", spec: replySpec{payload: []byte("not json")}, wantErr: ErrMalformedReply},
		{name: "garbage body", spec: replySpec{body: "<html>bad gateway</html>"}, wantErr: ErrUnverifiable},
		{name: "empty body", spec: replySpec{body: " \n"}, wantErr: ErrUnverifiable},
		{
			name:     "non-200 with a valid JWT",
			spec:     replySpec{httpStatus: http.StatusBadRequest, status: protocol.StatusInternalError, noAction: true, errText: "reject sign request: risk"},
			wantErr:  ErrHTTPStatus,
			wantText: "reject sign request: risk",
		},
		{
			name:     "non-200 approving JWT is still an error",
			spec:     replySpec{httpStatus: http.StatusInternalServerError},
			wantErr:  ErrHTTPStatus,
			wantText: "500",
		},
		{
			name:     "500 with a JSON error body",
			spec:     replySpec{httpStatus: http.StatusInternalServerError, body: `{"error":"signing failed"}`},
			wantErr:  ErrHTTPStatus,
			wantText: "signing failed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, res, err := checkAgainst(t, tt.spec)
			if res == nil {
				t.Fatal("Check returned a nil Result")
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if !res.Response.Approves() {
					t.Errorf("reply does not approve: %+v", res.Response)
				}
				if got := ExitCode(res.Response, err); got != 0 {
					t.Errorf("ExitCode = %d, want 0", got)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Check error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantText != "" && !errContains(err, tt.wantText) {
				t.Errorf("Check error = %q, want it to mention %q", err, tt.wantText)
			}
			if res.Response != nil {
				t.Errorf("Result.Response = %+v on error, want nil", res.Response)
			}
			if got := ExitCode(res.Response, err); got != 2 {
				t.Errorf("ExitCode = %d, want 2", got)
			}
		})
	}
}

func TestCheckTransportFailures(t *testing.T) {
	refused := refusedURL(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	srv := newFakeServer(t, always(replySpec{}))

	tests := []struct {
		name    string
		baseURL string
		v       protocol.Version
		ctx     context.Context
		node    func(*Node)
	}{
		{name: "connection refused", baseURL: refused, v: protocol.V2, ctx: context.Background()},
		{name: "cancelled context", baseURL: srv.URL, v: protocol.V2, ctx: cancelled},
		{name: "unknown version", baseURL: srv.URL, v: "v9", ctx: context.Background()},
		{name: "no base URL", baseURL: "", v: protocol.V2, ctx: context.Background()},
		{name: "no signer", baseURL: srv.URL, v: protocol.V2, ctx: context.Background(), node: func(n *Node) { n.Signer = nil }},
		{name: "no server verifier", baseURL: srv.URL, v: protocol.V2, ctx: context.Background(), node: func(n *Node) { n.Server = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t, tt.baseURL)
			if tt.node != nil {
				tt.node(n)
			}
			res, err := n.Check(tt.ctx, tt.v, mustRequest(t, protocol.V2, protocol.TypeKeyGen))
			if err == nil {
				t.Fatal("Check succeeded, want an error")
			}
			if res == nil || res.Response != nil {
				t.Errorf("Result = %+v, want non-nil with nil Response", res)
			}
			if got := ExitCode(nil, err); got != 2 {
				t.Errorf("ExitCode = %d, want 2", got)
			}
		})
	}
}

func TestRequestOnTheWire(t *testing.T) {
	detail := []byte(`{"group_id":"g-1","msg_hash_list":["0xab"],"note":"say \"hi\"\n"}`)
	extra := []byte(`{"transaction":{"transaction_id":"tx-1"}}`)
	for _, v := range []protocol.Version{protocol.V1, protocol.V2} {
		t.Run(string(v), func(t *testing.T) {
			srv := newFakeServer(t, always(replySpec{}))
			n := newNode(t, srv.URL+"/") // one trailing slash must not double the slash
			req, err := NewRequest(v, protocol.TypeKeySign, detail, extra)
			if err != nil {
				t.Fatalf("NewRequest: %v", err)
			}
			start := time.Now()
			if _, err := n.Check(context.Background(), v, req); err != nil {
				t.Fatalf("Check: %v", err)
			}

			seen := srv.requests()
			if len(seen) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(seen))
			}
			s := seen[0]
			if s.method != http.MethodPost {
				t.Errorf("method = %q, want POST", s.method)
			}
			if s.path != v.Path() {
				t.Errorf("path = %q, want %q", s.path, v.Path())
			}
			if s.rawQuery != "" {
				t.Errorf("query = %q, want none", s.rawQuery)
			}
			if s.contentType != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type = %q, want application/x-www-form-urlencoded", s.contentType)
			}
			if len(s.postForm) != 1 || len(s.postForm[protocol.FormField]) != 1 {
				t.Errorf("form = %v, want exactly one %s value", s.postForm, protocol.FormField)
			}
			if s.verifyErr != nil {
				t.Fatalf("request JWT does not verify with the node key: %v", s.verifyErr)
			}
			if s.decodeErr != nil {
				t.Fatalf("decoding package_data: %v", s.decodeErr)
			}
			if s.verified.Issuer != nodeIssuer {
				t.Errorf("iss = %q, want %q", s.verified.Issuer, nodeIssuer)
			}
			if ttl := s.verified.ExpiresAt.Sub(start); ttl < time.Minute || ttl > 3*time.Minute {
				t.Errorf("exp is %v after sending, want about 2m", ttl)
			}

			wantKeys := []string{"extra_info", "request_detail", "request_id", "request_type"}
			for _, key := range wantKeys {
				if _, ok := s.fields[key]; !ok {
					t.Errorf("package_data lacks %q: %s", key, s.verified.PackageData)
				}
			}
			if len(s.fields) != len(wantKeys) {
				t.Errorf("package_data has keys %v, want exactly %v", keysOf(s.fields), wantKeys)
			}
			wantStrings := map[string]string{
				"request_id":     req.RequestID,
				"request_detail": onWire(detail),
				"extra_info":     onWire(extra),
			}
			for key, want := range wantStrings {
				var got string
				if err := json.Unmarshal(s.fields[key], &got); err != nil {
					t.Errorf("%s is not a JSON string: %s", key, s.fields[key])
					continue
				}
				if got != want {
					t.Errorf("%s = %q, want %q", key, got, want)
				}
			}
			var typ int
			if err := json.Unmarshal(s.fields["request_type"], &typ); err != nil || typ != int(protocol.TypeKeySign) {
				t.Errorf("request_type = %s, want %d", s.fields["request_type"], int(protocol.TypeKeySign))
			}
		})
	}
}

// onWire is how a node carries a JSON payload inside CallbackRequest:
// compacted, with blank input as "" (protocol.NewCallbackRequest). Text that
// is not JSON is carried verbatim.
func onWire(b []byte) string {
	if len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return string(b)
	}
	return out.String()
}

func keysOf(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestNewRequestSamples(t *testing.T) {
	idPattern := regexp.MustCompile(`^sim-[0-9a-f]{16}$`)
	types := []protocol.RequestType{
		protocol.TypePing, protocol.TypeKeyGen, protocol.TypeKeySign,
		protocol.TypeKeyReshare, protocol.TypeKeyShareSign,
	}
	ids := map[string]bool{}
	built := 0
	for _, v := range []protocol.Version{protocol.V1, protocol.V2} {
		for _, typ := range types {
			t.Run(string(v)+"/"+typ.String(), func(t *testing.T) {
				sd, se, sampleErr := protocol.Sample(v, typ)
				req, err := NewRequest(v, typ, nil, nil)
				if sampleErr != nil {
					if err == nil {
						t.Fatalf("NewRequest succeeded although protocol.Sample failed: %v", sampleErr)
					}
					return
				}
				if err != nil {
					t.Fatalf("NewRequest: %v", err)
				}
				built++
				if req.RequestType != typ {
					t.Errorf("RequestType = %v, want %v", req.RequestType, typ)
				}
				if want := onWire(sd); req.RequestDetail != want {
					t.Errorf("RequestDetail = %q, want sample %q", req.RequestDetail, want)
				}
				if want := onWire(se); req.ExtraInfo != want {
					t.Errorf("ExtraInfo = %q, want sample %q", req.ExtraInfo, want)
				}
				if !idPattern.MatchString(req.RequestID) {
					t.Errorf("RequestID = %q, want sim- and 16 hex digits", req.RequestID)
				}
				if ids[req.RequestID] {
					t.Errorf("RequestID %q repeated", req.RequestID)
				}
				ids[req.RequestID] = true
			})
		}
	}
	// Every version must have samples for the key tasks a node asks about.
	if built < 2*4 {
		t.Errorf("built %d sample requests, want at least 8 (KEYGEN/KEYSIGN/KEYRESHARE/PING per version)", built)
	}
}

func TestNewRequestPayloads(t *testing.T) {
	sd, se, err := protocol.Sample(protocol.V2, protocol.TypeKeySign)
	if err != nil {
		t.Fatalf("protocol.Sample: %v", err)
	}
	tests := []struct {
		name       string
		v          protocol.Version
		detail     []byte
		extra      []byte
		wantDetail string
		wantExtra  string
		wantErr    bool
	}{
		{name: "both explicit", v: protocol.V2, detail: []byte(`{"a":1}`), extra: []byte(`{"b":2}`), wantDetail: `{"a":1}`, wantExtra: `{"b":2}`},
		{name: "explicit empty is kept", v: protocol.V2, detail: []byte{}, extra: []byte{}, wantDetail: "", wantExtra: ""},
		{name: "nil detail uses sample", v: protocol.V2, extra: []byte(`{}`), wantDetail: onWire(sd), wantExtra: `{}`},
		{name: "nil extra uses sample", v: protocol.V2, detail: []byte(`{}`), wantDetail: `{}`, wantExtra: onWire(se)},
		{name: "invalid JSON kept verbatim", v: protocol.V2, detail: []byte(`{not json`), extra: []byte(`{}`), wantDetail: `{not json`, wantExtra: `{}`},
		{name: "unknown version", v: "v7", detail: []byte(`{}`), extra: []byte(`{}`), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := NewRequest(tt.v, protocol.TypeKeySign, tt.detail, tt.extra)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("NewRequest succeeded: %+v", req)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewRequest: %v", err)
			}
			if req.RequestDetail != tt.wantDetail || req.ExtraInfo != tt.wantExtra {
				t.Errorf("got detail %q extra %q, want %q %q", req.RequestDetail, req.ExtraInfo, tt.wantDetail, tt.wantExtra)
			}
		})
	}
}

func TestNewRequestIDsUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		req, err := NewRequest(protocol.V2, protocol.TypeKeyGen, []byte(`{}`), []byte(`{}`))
		if err != nil {
			t.Fatalf("NewRequest: %v", err)
		}
		if seen[req.RequestID] {
			t.Fatalf("duplicate request id %q", req.RequestID)
		}
		seen[req.RequestID] = true
	}
}

func TestExitCode(t *testing.T) {
	resp := func(s protocol.Status, a protocol.Action) *protocol.CallbackResponse {
		return &protocol.CallbackResponse{Status: s, RequestID: "r", Action: a}
	}
	tests := []struct {
		name string
		resp *protocol.CallbackResponse
		err  error
		want int
	}{
		{name: "approve", resp: resp(protocol.StatusOK, protocol.ActionApprove), want: 0},
		{name: "reject", resp: resp(protocol.StatusOK, protocol.ActionReject), want: 1},
		{name: "approve with error wins nothing", resp: resp(protocol.StatusOK, protocol.ActionApprove), err: errors.New("boom"), want: 2},
		{name: "nil response", want: 2},
		{name: "error only", err: ErrUnverifiable, want: 2},
		{name: "status 10 reject", resp: resp(protocol.StatusInvalidRequest, protocol.ActionReject), want: 2},
		{name: "status 30 approve", resp: resp(protocol.StatusInternalError, protocol.ActionApprove), want: 2},
		{name: "status 0 no action", resp: resp(protocol.StatusOK, ""), want: 2},
		{name: "status 0 WAIT", resp: resp(protocol.StatusOK, "WAIT"), want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExitCode(tt.resp, tt.err); got != tt.want {
				t.Errorf("ExitCode = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestUnwrapReply(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{name: "raw", body: "a.b.c", want: "a.b.c"},
		{name: "quoted", body: `"a.b.c"`, want: "a.b.c"},
		{name: "trailing newline", body: "a.b.c\n", want: "a.b.c"},
		{name: "quoted and padded", body: "\t\"a.b.c\"\r\n", want: "a.b.c"},
		{name: "one pair only", body: `""a.b.c""`, want: `"a.b.c"`},
		{name: "opening quote only", body: `"a.b.c`, want: `"a.b.c`},
		{name: "lone quote", body: `"`, want: `"`},
		{name: "empty quotes", body: `""`, want: ""},
		{name: "empty", body: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unwrapReply([]byte(tt.body)); got != tt.want {
				t.Errorf("unwrapReply(%q) = %q, want %q", tt.body, got, tt.want)
			}
		})
	}
}

// readVector returns the PROTOCOL.md 8.2 response JWT, signed by the Cobo
// template server key, and a node that verifies it at a time before its exp.
func readVector(t *testing.T, at time.Time) (string, *Node) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "derived-response.jwt"))
	if err != nil {
		t.Fatalf("reading vector: %v", err)
	}
	n := newNode(t, "http://unused.invalid")
	n.Server.Now = func() time.Time { return at }
	return strings.TrimSpace(string(b)), n
}

func TestReadReplyPublishedVector(t *testing.T) {
	beforeExp := time.Unix(1750000000, 0).Add(-time.Minute)
	afterExp := time.Unix(1750000000, 0).Add(time.Minute)
	tests := []struct {
		name    string
		at      time.Time
		wrap    func(string) string
		wantID  string
		wantErr error
	}{
		{name: "raw", at: beforeExp, wrap: func(s string) string { return s }, wantID: "test-request-id"},
		{name: "quoted", at: beforeExp, wrap: quote, wantID: "test-request-id"},
		{name: "newline", at: beforeExp, wrap: func(s string) string { return s + "\n" }, wantID: "test-request-id"},
		{name: "other id", at: beforeExp, wrap: quote, wantID: "sim-1", wantErr: ErrRequestIDMismatch},
		{name: "expired", at: afterExp, wrap: quote, wantID: "test-request-id", wantErr: ErrUnverifiable},
		{name: "tampered signature", at: beforeExp, wrap: func(s string) string { return s[:len(s)-2] + "AA" }, wantID: "test-request-id", wantErr: ErrUnverifiable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jwt, n := readVector(t, tt.at)
			resp, err := n.ReadReply([]byte(tt.wrap(jwt)), tt.wantID)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || resp != nil {
					t.Fatalf("ReadReply = %+v, %v; want nil, %v", resp, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadReply: %v", err)
			}
			if resp.RequestID != "test-request-id" || resp.Status != protocol.StatusOK || resp.Action != protocol.ActionApprove {
				t.Errorf("ReadReply = %+v, want status 0 APPROVE test-request-id", resp)
			}
		})
	}
}

func FuzzReadReply(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "derived-response.jwt"))
	if err != nil {
		f.Fatalf("reading vector: %v", err)
	}
	jwt := strings.TrimSpace(string(b))
	for _, seed := range []string{jwt, quote(jwt), jwt + "\n", quote(quote(jwt)), "", `"`, "a.b.c", `{"error":"x"}`} {
		f.Add([]byte(seed))
	}
	k := loadKeys(f)
	n := &Node{Server: newVerifier(f, "callback-server", k.serverPub)}
	n.Server.Now = func() time.Time { return time.Unix(1749999000, 0) }
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := n.ReadReply(body, "test-request-id")
		if (resp == nil) == (err == nil) {
			t.Fatalf("ReadReply = %+v, %v: want exactly one of response and error", resp, err)
		}
		if err == nil && resp.RequestID != "test-request-id" {
			t.Fatalf("accepted reply for %q", resp.RequestID)
		}
		if err != nil && ExitCode(resp, err) != 2 {
			t.Fatalf("ExitCode on error = %d", ExitCode(resp, err))
		}
	})
}
