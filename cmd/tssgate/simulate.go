package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"tssgate/internal/protocol"
	"tssgate/internal/simulate"
	"tssgate/internal/token"
)

const simulateUsage = `Usage: tssgate simulate [flags]

Acts as a Cobo TSS Node: builds a CallbackRequest, signs it with the node's
callback key the way the node does (RS256 JWT, package_data = base64 of the
request JSON), posts it as form field TSS_JWT_MSG, verifies the reply's
signature with the server's public key, checks that request_id is echoed and
prints the decoded reply as JSON.

Exit status: 0 APPROVE, 1 REJECT, 2 anything else (error status, reply that
does not verify, transport failure).

With --n N it sends N requests (fresh request ids) from --c workers, signing
all of them before the timed phase, and prints throughput and latency
percentiles; it then exits 0 only if every reply verified.

Out of the box it pairs with 'tssgate serve --dev': it reads the same
configuration as serve (--config or TSSGATE_CONFIG, TSSGATE_* variables,
--data-dir), and the URL, the server public key and the simulated node key
default to what that configuration gives: the listen address (loopback for
an all-interfaces listener; https with tls_cert), the public key beside the
server's private key (DATA/callback-server-pub.key), and the dev node key
in DATA/dev-tss-node.
It waits up to --wait for the key files and for the server to accept
connections, so 'tssgate serve --dev &' may be followed at once by
'tssgate simulate'; after that it says which file or address is missing.
`

func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("simulate")
	sf := addSettingFlags(fs, "config", "data_dir")
	var (
		baseURL   = fs.String("url", "", "base URL of the callback server (default: from the configuration's listen address, http://127.0.0.1:11020 by default)")
		version   = fs.String("version", "v2", "protocol version: v1 or v2")
		typ       = fs.String("type", "ping", "request type: ping, keygen, keysign, keyreshare or keysharesign")
		detail    = fs.String("detail", "", "file holding request_detail JSON (default: a built-in realistic sample for the type)")
		extra     = fs.String("extra", "", "file holding extra_info JSON (default: a built-in realistic sample for the type)")
		requestID = fs.String("request-id", "", "request_id to send (default: a fresh random id)")
		nodeKey   = fs.String("node-key", "", "the TSS Node's callback private key PEM that signs requests (default: DATA/"+devNodeDir+"/"+devNodePriv+", the key 'serve --dev' writes)")
		serverPub = fs.String("server-pub", "", "the callback server's public key PEM that verifies replies (default: "+token.PublicKeyFile+" beside the configured server key, or in DATA)")
		issuer    = fs.String("iss", "tss-node-simulator", "iss claim of the request token")
		ttl       = fs.Duration("ttl", 2*time.Minute, "lifetime of the request token")
		timeout   = fs.Duration("timeout", simulate.DefaultTimeout, "HTTP timeout per request (the node's request_timeout)")
		caCert    = fs.String("ca-cert", "", "PEM CA certificate to trust for an https URL")
		n         = fs.Int("n", 0, "load mode: send N requests")
		c         = fs.Int("c", 4, "load mode: concurrent workers")
		wait      = fs.Duration("wait", simulate.DefaultWait, "how long to wait for each key file and for the server to appear (0: do not wait)")
	)
	if code, done := parseFlags(fs, args, simulateUsage, stdout, stderr); done {
		return code
	}
	cfg, err := loadSettings(sf, osEnvironment())
	if err != nil {
		fmt.Fprintf(stderr, "simulate: %v\n", err)
		return 2
	}
	if *baseURL == "" {
		*baseURL = simulateURL(cfg)
	}
	if *nodeKey == "" {
		*nodeKey = filepath.Join(cfg.DataDir, devNodeDir, devNodePriv)
	}
	if *serverPub == "" {
		*serverPub = filepath.Join(cfg.DataDir, token.PublicKeyFile)
		if cfg.ServerKey != "" {
			*serverPub = filepath.Join(filepath.Dir(cfg.ServerKey), token.PublicKeyFile)
		}
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "simulate: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return fail("unexpected arguments %q", fs.Args())
	}
	if *wait < 0 {
		return fail("--wait must not be negative, got %s", *wait)
	}
	v := protocol.Version(strings.ToLower(*version))
	if v != protocol.V1 && v != protocol.V2 {
		return fail("--version must be v1 or v2, got %q", *version)
	}
	rt, err := protocol.ParseRequestType(*typ)
	if err != nil {
		return fail("--type: %v", err)
	}
	var detailJSON, extraJSON []byte
	if *detail != "" {
		if detailJSON, err = os.ReadFile(*detail); err != nil {
			return fail("--detail: %v", err)
		}
	}
	if *extra != "" {
		if extraJSON, err = os.ReadFile(*extra); err != nil {
			return fail("--extra: %v", err)
		}
	}
	// Waiting lets `tssgate serve --dev &` be followed at once by
	// `tssgate simulate`: the server may still be writing its keys.
	priv, err := simulate.WaitForFile(ctx, *wait, "the TSS Node key file", *nodeKey, token.LoadPrivateKey)
	if err != nil {
		return fail("%v (run 'tssgate serve --dev' to create a simulated TSS Node key, or pass --node-key)", err)
	}
	pub, err := simulate.WaitForFile(ctx, *wait, "the server public key file", *serverPub, token.LoadPublicKey)
	if err != nil {
		return fail("%v (pass the server's callback-server-pub.key with --server-pub)", err)
	}
	if err := simulate.WaitForServer(ctx, *wait, *baseURL); err != nil {
		return fail("%v (is 'tssgate serve' running at --url %s?)", err, *baseURL)
	}
	keys, err := token.NewKeySet(token.NamedKey{Name: "callback-server", Key: pub})
	if err != nil {
		return fail("%v", err)
	}
	client := &http.Client{Timeout: *timeout}
	if *caCert != "" {
		pemData, err := os.ReadFile(*caCert)
		if err != nil {
			return fail("--ca-cert: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return fail("--ca-cert %s: no certificate found", *caCert)
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	node := &simulate.Node{
		BaseURL: *baseURL,
		HTTP:    client,
		Signer:  &token.Signer{Key: priv, Issuer: *issuer, TTL: *ttl},
		// Replies live token_expire_minutes, at most an hour.
		Server: &token.Verifier{Keys: keys, Leeway: 30 * time.Second, MaxLifetime: time.Hour},
	}

	if *n > 0 {
		if *c < 1 {
			return fail("--c must be at least 1")
		}
		reqs := make([]protocol.CallbackRequest, *n)
		for i := range reqs {
			if reqs[i], err = simulate.NewRequest(v, rt, detailJSON, extraJSON); err != nil {
				return fail("%v", err)
			}
		}
		rep, err := node.Load(ctx, v, reqs, *c)
		if err != nil {
			return fail("%v", err)
		}
		if err := rep.WriteText(stdout); err != nil {
			return fail("%v", err)
		}
		if rep.Failed > 0 {
			return 2
		}
		return 0
	}

	req, err := simulate.NewRequest(v, rt, detailJSON, extraJSON)
	if err != nil {
		return fail("%v", err)
	}
	if *requestID != "" {
		req.RequestID = *requestID
	}
	res, err := node.Check(ctx, v, req)
	var resp *protocol.CallbackResponse
	if res != nil {
		resp = res.Response
	}
	if resp != nil {
		out, _ := json.MarshalIndent(resp, "", "  ")
		fmt.Fprintln(stdout, string(out))
	}
	if err != nil {
		fmt.Fprintf(stderr, "simulate: %v\n", err)
		if errors.Is(err, simulate.ErrUnverifiable) {
			fmt.Fprintln(stderr, "simulate: is --server-pub the public key of the server at --url?")
		}
	}
	return simulate.ExitCode(resp, err)
}

// simulateURL is the base URL of the server a configuration describes: its
// listen address, with loopback for an all-interfaces listener, and https
// when it serves TLS.
func simulateURL(cfg Config) string {
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return "http://" + cfg.Listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}
