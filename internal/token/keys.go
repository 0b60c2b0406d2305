package token

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"tssgate/internal/regfile"
)

// MinKeyBits is the smallest RSA modulus accepted anywhere in this package:
// for loaded keys, for keys in a KeySet and for a Signer. Cobo's own test keys
// are 2048 bits and its docs recommend 4096, so nothing legitimate is smaller.
const MinKeyBits = 2048

// MaxKeyBits is the largest RSA modulus accepted anywhere in this package.
// It is BoringCrypto's limit (BoringSSL refuses larger public keys in every
// operation, and crypto/rsa reports that as a mere verification failure), so
// the default and the BoringCrypto build accept exactly the same keys and a
// key one of them could not use is an error at load, not a node whose every
// request fails with status 20.
const MaxKeyBits = 16384

// Cobo's file names for the callback server's key pair, kept so that a user of
// Cobo's template can point tssgate at the directory they already have.
const (
	// PrivateKeyFile holds the callback server's private key (PKCS#1 PEM when
	// written by GenerateKeyPair).
	PrivateKeyFile = "callback-server-pri.pem"
	// PublicKeyFile holds the callback server's public key (SPKI PEM), the file
	// an operator gives to the TSS Node.
	PublicKeyFile = "callback-server-pub.key"
)

// PEM block types this package reads and writes.
const (
	pemPKCS1Private = "RSA PRIVATE KEY"
	pemPKCS8Private = "PRIVATE KEY"
	pemSPKIPublic   = "PUBLIC KEY"
	pemPKCS1Public  = "RSA PUBLIC KEY"
)

// ParsePrivateKey decodes the first PEM block of pemData as an RSA private key,
// either PKCS#1 ("RSA PRIVATE KEY", what `openssl genrsa` and Cobo's test keys
// use) or PKCS#8 ("PRIVATE KEY"). It returns an error, never a partial key,
// when there is no PEM block, when the block is encrypted, when it holds a
// public key, a certificate or a non-RSA key, or when the modulus is shorter
// than MinKeyBits. Error texts never include key material.
func ParsePrivateKey(pemData []byte) (*rsa.PrivateKey, error) {
	block, err := decodePEM(pemData)
	if err != nil {
		return nil, err
	}
	var key *rsa.PrivateKey
	switch block.Type {
	case pemPKCS1Private:
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing PKCS#1 private key: %w", err)
		}
	case pemPKCS8Private:
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing PKCS#8 private key: %w", err)
		}
		rsaKey, ok := parsed.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("PEM block holds %s, expected an RSA private key", keyKind(parsed))
		}
		key = rsaKey
	case pemSPKIPublic, pemPKCS1Public:
		return nil, fmt.Errorf("PEM block %q is a public key, expected a private key", block.Type)
	case "EC PRIVATE KEY":
		return nil, errors.New("PEM block holds an EC private key, expected an RSA private key")
	default:
		return nil, fmt.Errorf("unexpected PEM block %q, expected %q or %q", block.Type, pemPKCS1Private, pemPKCS8Private)
	}
	if err := CheckSigningKey(key); err != nil {
		return nil, err
	}
	return key, nil
}

// ParsePublicKey decodes the first PEM block of pemData as an RSA public key,
// either SPKI ("PUBLIC KEY", the TSS Node's and Cobo's format) or PKCS#1
// ("RSA PUBLIC KEY"). It returns an error when there is no PEM block, when the
// block holds a private key (so an operator who mixed up the files hears about
// it instead of silently exposing a secret), a certificate or a non-RSA key, or
// when the modulus is shorter than MinKeyBits.
func ParsePublicKey(pemData []byte) (*rsa.PublicKey, error) {
	block, err := decodePEM(pemData)
	if err != nil {
		return nil, err
	}
	var key *rsa.PublicKey
	switch block.Type {
	case pemSPKIPublic:
		parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing SPKI public key: %w", err)
		}
		rsaKey, ok := parsed.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("PEM block holds %s, expected an RSA public key", keyKind(parsed))
		}
		key = rsaKey
	case pemPKCS1Public:
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing PKCS#1 public key: %w", err)
		}
	case pemPKCS1Private, pemPKCS8Private, "EC PRIVATE KEY":
		return nil, fmt.Errorf("PEM block %q is a private key, expected a public key", block.Type)
	default:
		return nil, fmt.Errorf("unexpected PEM block %q, expected %q or %q", block.Type, pemSPKIPublic, pemPKCS1Public)
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	return key, nil
}

// maxKeyFile bounds a key file: a 16384-bit PEM private key is about
// 13 KB. The file must be a regular file (regfile: a named pipe put in
// its place must not hang a start or a SIGHUP reload).
const maxKeyFile = 64 << 10

// LoadPrivateKey reads and parses the private key file at path (see
// ParsePrivateKey). Every error names the file.
func LoadPrivateKey(path string) (*rsa.PrivateKey, error) {
	data, err := regfile.Read(path, maxKeyFile)
	if err != nil {
		return nil, fmt.Errorf("loading private key %s: %w", path, err)
	}
	key, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("loading private key %s: %w", path, err)
	}
	return key, nil
}

// LoadPublicKey reads and parses the public key file at path (see
// ParsePublicKey). Every error names the file.
func LoadPublicKey(path string) (*rsa.PublicKey, error) {
	data, err := regfile.Read(path, maxKeyFile)
	if err != nil {
		return nil, fmt.Errorf("loading public key %s: %w", path, err)
	}
	key, err := ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("loading public key %s: %w", path, err)
	}
	return key, nil
}

// MarshalPrivateKeyPEM encodes k as a PKCS#1 "RSA PRIVATE KEY" PEM block, the
// traditional form that Cobo's templates and `openssl genrsa` use, so the file
// works with every Cobo tool as well as with tssgate.
func MarshalPrivateKeyPEM(k *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemPKCS1Private, Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

// MarshalPublicKeyPEM encodes k as an SPKI "PUBLIC KEY" PEM block, the form the
// TSS Node reads. It returns nil only if k cannot be encoded (a key without a
// modulus); callers writing a file must treat nil as a failure.
func MarshalPublicKeyPEM(k *rsa.PublicKey) []byte {
	der, err := marshalPublicKeyDER(k)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemSPKIPublic, Bytes: der})
}

func marshalPublicKeyDER(k *rsa.PublicKey) ([]byte, error) {
	if k == nil || k.N == nil {
		return nil, errors.New("RSA public key has no modulus")
	}
	return x509.MarshalPKIXPublicKey(k)
}

// GenerateKeyPair creates dir (mode 0700) if needed, generates an RSA key of
// bits (2048, 3072 or 4096) and writes the private key to dir/privName (mode
// 0600, PKCS#1 PEM) and the public key to dir/pubName (mode 0644, SPKI PEM).
//
// It never overwrites: if either file already exists it returns an error
// wrapping fs.ErrExist and leaves both files as they were. Files are created
// with O_EXCL, so a concurrent writer cannot be clobbered either; if anything
// fails after the private key file was created, the files this call created
// are removed, so a failure leaves no half-written key pair behind. privName
// and pubName must be distinct plain file names (no directories).
func GenerateKeyPair(dir string, bits int, privName, pubName string) (privPath, pubPath string, err error) {
	switch bits {
	case 2048, 3072, 4096:
	default:
		return "", "", fmt.Errorf("generating key pair: RSA key size %d not supported (use 2048, 3072 or 4096)", bits)
	}
	for _, name := range []string{privName, pubName} {
		if name == "" || name == "." || name == ".." || filepath.Base(name) != name {
			return "", "", fmt.Errorf("generating key pair: %q is not a plain file name", name)
		}
	}
	if privName == pubName {
		return "", "", fmt.Errorf("generating key pair: private and public key file names are both %q", privName)
	}
	privPath = filepath.Join(dir, privName)
	pubPath = filepath.Join(dir, pubName)

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("generating key pair: %w", err)
	}
	// Checking before generating saves seconds of RSA work on the common
	// mistake; O_EXCL below is what actually guarantees no overwrite.
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return "", "", fmt.Errorf("generating key pair: %s: %w", p, fs.ErrExist)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", "", fmt.Errorf("generating key pair: %w", err)
		}
	}

	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return "", "", fmt.Errorf("generating key pair: %w", err)
	}
	pubDER, err := marshalPublicKeyDER(&key.PublicKey)
	if err != nil {
		return "", "", fmt.Errorf("generating key pair: %w", err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: pemSPKIPublic, Bytes: pubDER})

	if err := writeNewFile(privPath, MarshalPrivateKeyPEM(key), 0o600); err != nil {
		return "", "", fmt.Errorf("generating key pair: %w", err)
	}
	if err := writeNewFile(pubPath, pubPEM, 0o644); err != nil {
		// The private key is useless without its public half and must not
		// linger as a stray secret.
		if rmErr := os.Remove(privPath); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("removing %s: %w", privPath, rmErr))
		}
		return "", "", fmt.Errorf("generating key pair: %w", err)
	}
	return privPath, pubPath, nil
}

// writeNewFile creates path exclusively, writes data, syncs and closes it. The
// mode is set explicitly after creation so the umask cannot change it. On any
// failure after creation the file is removed.
func writeNewFile(path string, data []byte, mode os.FileMode) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(path)
		}
	}()
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// decodePEM returns the first PEM block of data and rejects encrypted blocks,
// which tssgate does not decrypt (it has nowhere safe to get a passphrase from).
func decodePEM(data []byte) (*pem.Block, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, errors.New("encrypted PEM is not supported; decrypt the key first (e.g. openssl rsa -in key.pem -out plain.pem)")
	}
	return block, nil
}

// checkKey holds an RSA public key to the rules both crypto builds can
// honour: a modulus of MinKeyBits to MaxKeyBits bits that is odd, and an odd
// public exponent from 3 to 2^31-1. Go's crypto/rsa refuses an even modulus
// or exponent only when it is used, so without this such a TSS Node key would
// load and then fail every verification.
func checkKey(k *rsa.PublicKey) error {
	if k == nil || k.N == nil {
		return errors.New("RSA key has no modulus")
	}
	bits := k.N.BitLen()
	switch {
	case bits < MinKeyBits:
		return fmt.Errorf("RSA key is %d bits, need at least %d", bits, MinKeyBits)
	case bits > MaxKeyBits:
		return fmt.Errorf("RSA key is %d bits, at most %d are supported", bits, MaxKeyBits)
	case k.N.Bit(0) == 0:
		return errors.New("RSA key modulus is even, not an RSA modulus")
	case k.E < 3 || k.E > 1<<31-1 || k.E%2 == 0:
		return fmt.Errorf("RSA key public exponent %d is not supported (need an odd exponent from 3 to 2^31-1, usually 65537)", k.E)
	}
	return nil
}

// probeDigest is what CheckSigningKey signs: the SHA-256 of a fixed,
// recognisable text, so the probe never signs anything a peer could use.
var probeDigest = sha256.Sum256([]byte("tssgate: RSA signing key self-test"))

// CheckSigningKey signs a fixed digest with k and verifies the signature with
// k's public half, through crypto/rsa and so through whichever implementation
// this binary uses (CryptoBackend). ParsePrivateKey and LoadPrivateKey call
// it, so a key that the build's cryptography refuses or gets wrong is an
// error when the key is loaded, at start-up, never a reply that cannot be
// signed later. It costs one signature and one verification.
func CheckSigningKey(k *rsa.PrivateKey) error {
	if k == nil {
		return errors.New("RSA signing key self-test: no key")
	}
	if err := checkKey(&k.PublicKey); err != nil {
		return err
	}
	sig, err := signDigest(k, probeDigest[:])
	if err != nil {
		return fmt.Errorf("RSA signing key self-test with %s: signing failed: %w", CryptoBackend(), err)
	}
	if err := rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, probeDigest[:], sig); err != nil {
		return fmt.Errorf("RSA signing key self-test with %s: the signature does not verify with the key's public half: %w", CryptoBackend(), err)
	}
	return nil
}

// keyKind names a parsed non-RSA key for error messages.
func keyKind(k any) string {
	switch k.(type) {
	case *ecdsa.PrivateKey, *ecdsa.PublicKey:
		return "an ECDSA key"
	case ed25519.PrivateKey, ed25519.PublicKey:
		return "an Ed25519 key"
	case *ecdh.PrivateKey, *ecdh.PublicKey:
		return "an ECDH (X25519) key"
	default:
		return fmt.Sprintf("a %T key", k)
	}
}
