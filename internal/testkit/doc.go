// Package testkit holds the test helpers several tssgate packages share:
// Cobo's published template keys (CoboKeys, WriteCoboKeys), a builder of
// request tokens signed the way a TSS Node signs them (NodeToken,
// RequestToken, FormBody), and an HTTP server on a loopback :0 port that
// stops at test cleanup (StartServer).
//
// Only _test.go files may import it: the template keys are public, so a
// binary that carried them would trust a key anyone can sign with.
// TestOnlyTestFilesImportTestkit fails if a non-test file does.
//
// The helpers are independent of the code under test: keys are parsed and
// tokens built with the standard library only (crypto/x509, crypto/rsa,
// encoding/base64), never with tssgate/internal/token or the JWT library,
// so a bug there cannot hide itself in the tests that should catch it. For
// the same reason the package imports no tssgate package, and any package,
// token included, can use it from its own tests.
package testkit
