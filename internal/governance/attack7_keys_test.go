package governance

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"testing"
)

// weakKeys are Ed25519 public key encodings of small-order points, each
// 32 bytes that crypto/ed25519 accepts as a public key. For the identity
// point (and its non-canonical encoding y = 1 + p) the signature
// R = identity, S = 0 verifies for every message: anyone can "sign" as
// such a key. The two encodings are different bytes, so a governance
// file's duplicate-key check sees two keys.
var weakKeys = []struct {
	name string
	key  []byte
}{
	{"identity", append([]byte{0x01}, make([]byte, 31)...)},
	{"identity, non-canonical y = 1 + p", func() []byte {
		b := bytes.Repeat([]byte{0xff}, 32)
		b[0], b[31] = 0xee, 0x7f
		return b
	}()},
	{"order-2 point (0, -1)", func() []byte {
		b := bytes.Repeat([]byte{0xff}, 32)
		b[0], b[31] = 0xec, 0x7f
		return b
	}()},
}

// wireString is an SSH wire string, written here independently of the
// package's encoder.
func wireString(b []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

func sshPublicKeyLine(key []byte, comment string) string {
	blob := append(wireString([]byte("ssh-ed25519")), wireString(key)...)
	return "ssh-ed25519 " + base64.StdEncoding.EncodeToString(blob) + " " + comment
}

// forgedSignature is an armored SSHSIG by key over any message: R is the
// identity's encoding, S is zero. No private key is involved.
func forgedSignature(key []byte) []byte {
	rs := append(append([]byte{0x01}, make([]byte, 31)...), make([]byte, 32)...)
	keyBlob := append(wireString([]byte("ssh-ed25519")), wireString(key)...)
	sigBlob := append(wireString([]byte("ssh-ed25519")), wireString(rs)...)
	var blob []byte
	blob = append(blob, "SSHSIG"...)
	blob = binary.BigEndian.AppendUint32(blob, 1)
	blob = append(blob, wireString(keyBlob)...)
	blob = append(blob, wireString([]byte("tssgate-policy"))...)
	blob = append(blob, wireString(nil)...)
	blob = append(blob, wireString([]byte("sha512"))...)
	blob = append(blob, wireString(sigBlob)...)
	return []byte("-----BEGIN SSH SIGNATURE-----\n" + base64.StdEncoding.EncodeToString(blob) + "\n-----END SSH SIGNATURE-----\n")
}

// TestAttack7WeakApproverKeysRefused: a governance file may name an
// approver whose "public key" is a small-order point. Every such key is
// accepted (only its length is checked), and for the identity point a
// signature anyone can write without any private key verifies over every
// manifest and every "unfreeze ID". One approver who slips such a key into
// a governance change (a "new hire"; reviewers compare manifest hashes,
// not curve points), or any TOFU governance, gives whoever can write the
// bundle a free approver; two encodings of the identity count as two
// approvers, a whole 2-of-N quorum. Parse (and ParseSignature) must refuse
// small-order and non-canonical keys.
func TestAttack7WeakApproverKeysRefused(t *testing.T) {
	_, alice := keygen(t, "alice")
	for _, wk := range weakKeys {
		t.Run(wk.name, func(t *testing.T) {
			_, err := Parse("governance.yaml", []byte(governanceYAML("2", [2]string{"alice", alice}, [2]string{"ghost", sshPublicKeyLine(wk.key, "ghost")})))
			if err == nil {
				t.Errorf("a governance naming a small-order Ed25519 key (%x) as an approver was accepted", wk.key)
			}
		})
	}
}

// TestAttack7ForgedQuorumFromWeakKeys: the consequence, end to end in the
// quorum check: a 2-of-3 governance whose other two "approvers" are the
// two encodings of the identity point is met by two forged signatures,
// over a policy manifest and over an unfreeze message, without any
// private key.
func TestAttack7ForgedQuorumFromWeakKeys(t *testing.T) {
	_, alice := keygen(t, "alice")
	g, err := Parse("governance.yaml", []byte(governanceYAML("2",
		[2]string{"alice", alice},
		[2]string{"dave", sshPublicKeyLine(weakKeys[0].key, "dave@new-hire")},
		[2]string{"erin", sshPublicKeyLine(weakKeys[1].key, "erin@new-hire")})))
	if err != nil {
		return // refused at parse time: defended (see TestAttack7WeakApproverKeysRefused)
	}
	sigs := [][]byte{forgedSignature(weakKeys[0].key), forgedSignature(weakKeys[1].key)}
	for _, msg := range []string{
		"tssgate-manifest v1\npolicy " + string(bytes.Repeat([]byte("ab"), 32)) + " POLICY.yaml\n",
		"unfreeze 0123456789abcdef",
	} {
		if res := g.Check([]byte(msg), sigs); res.Met {
			t.Errorf("two signatures forged without any private key met the 2-of-3 quorum over %q (signers %v)", msg, res.Signers)
		}
	}
}
