package policy

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/sha3"
)

// Review 12 attack on examples/message-signing.yaml. The digest is built
// here with x/crypto's keccak and words written out by hand.

func k5Keccak(parts ...[]byte) []byte {
	h := sha3.NewLegacyKeccak256()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func k5Word(n *big.Int) []byte { out := make([]byte, 32); n.FillBytes(out); return out }

func k5Addr(t testing.TB, a string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ToLower(strings.TrimPrefix(a, "0x")))
	if err != nil || len(b) != 20 {
		t.Fatalf("bad address %s", a)
	}
	return append(make([]byte, 12), b...)
}

// Attack: the example's bounded-permit rule promises "a finite amount" and
// checks only !tx.message.unlimited, whose floor is 2^160 - 1. An ERC-2612
// permit's value is a uint256, so a permit of 2^160 - 2 USDC base units
// (1.46e42 USDC, every coin there will ever be) to the listed router is
// approved. The example is what operators copy. Secure behaviour: the
// example caps each permitted amount (tx.message.permit.amounts.all(a,
// a <= decimal(...))): tssgate cannot know a token's supply, so only a
// cap in the rule bounds a permit.
func TestAttack5ExamplePermitJustBelowUnlimitedApproves(t *testing.T) {
	const (
		usdc    = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
		owner   = "0xd0ab4e9cac1cf79b35b886e1066b58806e64839f"
		router  = "0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD"
		expires = 1767582000 // an hour after the tests' clock
	)
	value := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 160), big.NewInt(2))

	src, err := os.ReadFile(filepath.Join(examplesDir, "requests", "v2-messagesign-permit.extra.json"))
	if err != nil {
		t.Fatal(err)
	}
	var extra map[string]any
	if err := json.Unmarshal(src, &extra); err != nil {
		t.Fatal(err)
	}
	dest := extra["transaction"].(map[string]any)["destination"].(map[string]any)
	delete(dest, "raw_structured_data")
	msg := dest["structured_data"].(map[string]any)["message"].(map[string]any)
	msg["value"] = value.String()
	msg["deadline"] = big.NewInt(expires).String()

	domain := k5Keccak(k5Keccak([]byte("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")),
		k5Keccak([]byte("USD Coin")), k5Keccak([]byte("2")), k5Word(big.NewInt(1)), k5Addr(t, usdc))
	permit := k5Keccak(k5Keccak([]byte("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)")),
		k5Addr(t, owner), k5Addr(t, router), k5Word(value), k5Word(big.NewInt(0)), k5Word(big.NewInt(expires)))
	digest := hex.EncodeToString(k5Keccak([]byte{0x19, 0x01}, domain, permit))

	dir := t.TempDir()
	b, err := json.Marshal(extra)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "permit.extra.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := `now: "2026-01-05T10:00:00+08:00"
tests:
  - name: a permit of 2^160-2 is no bounded permit
    request:
      type: keysign
      extra_file: permit.extra.json
      detail_patch: {msg_hash_list: ["0x` + digest + `"], bip32_path_list: ["m/44/60/0/0/0"]}
    expect: {action: reject}
`
	testsPath := filepath.Join(dir, "permit.tests.yaml")
	if err := os.WriteFile(testsPath, []byte(tests), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Load(filepath.Join(examplesDir, "message-signing.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	passed, failed, err := RunTestsVerifying(p, testsPath, &out, realVerify)
	if err != nil {
		t.Fatal(err)
	}
	if failed != 0 || passed != 1 {
		t.Fatalf("examples/message-signing.yaml approves an ERC-2612 permit of %s base units to the router:\n%s", value, out.String())
	}
}
