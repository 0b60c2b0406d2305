package governance

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Namespace is the SSHSIG namespace of every tssgate signature: policy
// and governance manifests, and unfreeze messages. ssh-keygen -Y sign
// must be given it with -n; a signature made for another purpose (git
// commits, files) carries another namespace and never counts.
const Namespace = "tssgate-policy"

// The SSHSIG constants of OpenSSH's PROTOCOL.sshsig.
const (
	sigMagic   = "SSHSIG"
	sigVersion = 1
	armorBegin = "-----BEGIN SSH SIGNATURE-----"
	armorEnd   = "-----END SSH SIGNATURE-----"
	armorWidth = 70 // ssh-keygen's line length
)

// Signature is a parsed SSHSIG signature: who claims to have signed (the
// embedded public key), for which namespace, with which hash, and the raw
// Ed25519 signature. Parsing proves nothing; Verify does.
type Signature struct {
	Key       ed25519.PublicKey
	Namespace string
	HashAlg   string // "sha512" or "sha256"
	Sig       []byte // 64 bytes
}

// signedData is the blob an SSHSIG signature signs (PROTOCOL.sshsig):
// MAGIC || string(namespace) || string(reserved) || string(hash_alg) ||
// string(H(message)).
func signedData(namespace, hashAlg string, message []byte) ([]byte, error) {
	var h []byte
	switch hashAlg {
	case "sha512":
		s := sha512.Sum512(message)
		h = s[:]
	case "sha256":
		s := sha256.Sum256(message)
		h = s[:]
	default:
		return nil, fmt.Errorf("hash algorithm %q: want sha512 or sha256", hashAlg)
	}
	b := []byte(sigMagic)
	b = appendString(b, []byte(namespace))
	b = appendString(b, nil) // reserved
	b = appendString(b, []byte(hashAlg))
	return appendString(b, h), nil
}

// SignWith signs message with key in the SSHSIG format (namespace
// Namespace, hash sha512) and returns the armored signature, as
// ssh-keygen -Y sign -n tssgate-policy writes it.
func SignWith(key ed25519.PrivateKey, message []byte) []byte {
	data, err := signedData(Namespace, "sha512", message)
	if err != nil {
		panic(err) // sha512 is always known
	}
	sig := ed25519.Sign(key, data)
	var sigBlob []byte
	sigBlob = appendString(sigBlob, []byte(ssh.KeyAlgoED25519))
	sigBlob = appendString(sigBlob, sig)

	blob := []byte(sigMagic)
	blob = binary.BigEndian.AppendUint32(blob, sigVersion)
	blob = appendString(blob, wireKey(key.Public().(ed25519.PublicKey)))
	blob = appendString(blob, []byte(Namespace))
	blob = appendString(blob, nil)
	blob = appendString(blob, []byte("sha512"))
	blob = appendString(blob, sigBlob)
	return armor(blob)
}

// Sign signs message with the OpenSSH private key in privateKeyFile
// (unencrypted Ed25519: ssh-keygen -t ed25519 with an empty passphrase) and returns
// the armored SSHSIG signature. Errors name the file: unreadable, not a
// private key, passphrase-protected (sign with ssh-keygen -Y sign and
// import the signature instead), or not Ed25519.
func Sign(privateKeyFile string, message []byte) ([]byte, error) {
	key, err := LoadPrivateKey(privateKeyFile)
	if err != nil {
		return nil, err
	}
	return SignWith(key, message), nil
}

// LoadPrivateKey reads an unencrypted OpenSSH Ed25519 private key file.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	raw, err := ssh.ParseRawPrivateKey(data)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("private key %s is protected by a passphrase, which tssgate does not ask for: sign with 'ssh-keygen -Y sign -f %s -n %s FILE' and add the signature with --import", path, path, Namespace)
	}
	if err != nil {
		return nil, fmt.Errorf("private key %s: not an OpenSSH private key: %v", path, err)
	}
	switch k := raw.(type) {
	case *ed25519.PrivateKey:
		return *k, nil
	case ed25519.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("private key %s is a %T, not Ed25519: approvers sign with ssh-ed25519 keys", path, raw)
	}
}

// armor writes blob as ssh-keygen does: the begin line, base64 in lines
// of 70 columns, the end line, each ending in a newline.
func armor(blob []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(blob)
	var b bytes.Buffer
	b.WriteString(armorBegin + "\n")
	for len(enc) > armorWidth {
		b.WriteString(enc[:armorWidth] + "\n")
		enc = enc[armorWidth:]
	}
	b.WriteString(enc + "\n")
	b.WriteString(armorEnd + "\n")
	return b.Bytes()
}

// ParseSignature parses one armored SSHSIG signature (surrounding blank
// lines allowed). It checks the structure only: magic, version 1, an
// ssh-ed25519 public key, a known hash algorithm, an ssh-ed25519
// signature of 64 bytes, nothing left over.
func ParseSignature(armored []byte) (*Signature, error) {
	text := strings.TrimSpace(strings.ReplaceAll(string(armored), "\r\n", "\n"))
	if !strings.HasPrefix(text, armorBegin+"\n") || !strings.HasSuffix(text, "\n"+armorEnd) {
		return nil, errors.New("not an armored SSH signature (want -----BEGIN SSH SIGNATURE----- ... -----END SSH SIGNATURE-----)")
	}
	body := strings.TrimSuffix(strings.TrimPrefix(text, armorBegin+"\n"), "\n"+armorEnd)
	blob, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(body), ""))
	if err != nil {
		return nil, fmt.Errorf("signature base64: %v", err)
	}
	if !bytes.HasPrefix(blob, []byte(sigMagic)) {
		return nil, errors.New("signature does not start with SSHSIG")
	}
	r := reader{b: blob[len(sigMagic):]}
	ver, ok := r.uint32()
	if !ok || ver != sigVersion {
		return nil, fmt.Errorf("SSHSIG version %d, want %d", ver, sigVersion)
	}
	pub, ok1 := r.string()
	ns, ok2 := r.string()
	_, ok3 := r.string() // reserved
	alg, ok4 := r.string()
	sigBlob, ok5 := r.string()
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || len(r.b) != 0 {
		return nil, errors.New("truncated or over-long SSHSIG blob")
	}
	key, err := keyFromWire(pub)
	if err != nil {
		return nil, fmt.Errorf("signature public key: %v", err)
	}
	if string(alg) != "sha512" && string(alg) != "sha256" {
		return nil, fmt.Errorf("signature hash algorithm %q: want sha512 or sha256", alg)
	}
	sr := reader{b: sigBlob}
	styp, ok1 := sr.string()
	sig, ok2 := sr.string()
	if !ok1 || !ok2 || len(sr.b) != 0 {
		return nil, errors.New("malformed signature blob")
	}
	if string(styp) != ssh.KeyAlgoED25519 || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("signature type %q of %d bytes: want ssh-ed25519 of %d", styp, len(sig), ed25519.SignatureSize)
	}
	return &Signature{Key: key, Namespace: string(ns), HashAlg: string(alg), Sig: sig}, nil
}

// Verify reports whether s is a valid signature of message by s.Key in
// namespace Namespace. The error says why not.
func (s *Signature) Verify(message []byte) error {
	if s.Namespace != Namespace {
		return fmt.Errorf("signature namespace %q, want %q (ssh-keygen -Y sign -n %s)", s.Namespace, Namespace, Namespace)
	}
	data, err := signedData(s.Namespace, s.HashAlg, message)
	if err != nil {
		return err
	}
	if !ed25519.Verify(s.Key, data, s.Sig) {
		return errors.New("signature does not verify for this message (signed something else, or altered)")
	}
	return nil
}

// appendString appends an SSH wire string: a big-endian uint32 length,
// then the bytes.
func appendString(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// reader reads SSH wire values; each method reports false on truncation.
type reader struct{ b []byte }

func (r *reader) uint32() (uint32, bool) {
	if len(r.b) < 4 {
		return 0, false
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v, true
}

func (r *reader) string() ([]byte, bool) {
	n, ok := r.uint32()
	if !ok || uint64(n) > uint64(len(r.b)) {
		return nil, false
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s, true
}
